"""The official CIFAR-10 python archive (Krizhevsky, 2009), packed or extracted.

``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/{data_batch_1..5, test_batch,
batches.meta}``: pickled dicts with b"data" (10000, 3072) uint8 in R, G, B planes of 32x32 and
b"labels". The pickles are read with an unpickler that only admits the numpy array
reconstruction they need, so a tampered archive cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dshgan.data.dataset import ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.images import normalize_size

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FILENAME = "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
CIFAR10_FILES = (*TRAIN_BATCHES, TEST_BATCH, META)

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 spell bytes
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        if module.startswith("numpy.core"):  # numpy >= 2 moved it; pickles keep the old path
            module = "numpy._core" + module[len("numpy.core"):]
            try:
                __import__(module)
            except ImportError:
                module = "numpy.core" + module[len("numpy._core"):]
        return super().find_class(module, name)


def _unpickle(data: bytes, label: str) -> dict:
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # any failure of an untrusted pickle is a data error
        raise DataError(f"cannot unpickle CIFAR-10 file {label}: {exc}") from exc
    if not isinstance(obj, dict):
        raise DataError(f"CIFAR-10 file {label} holds a {type(obj).__name__}, expected a dict")
    return obj


def is_cifar10_python(path: str | os.PathLike) -> bool:
    """True for the extracted folder (or its parent) or an archive whose first file is a batch."""
    path = Path(path)
    if path.is_dir():
        return (path / META).is_file() or (path / "cifar-10-batches-py" / META).is_file()
    if not path.is_file() or not str(path).lower().endswith((".tar", ".tar.gz", ".tgz")):
        return False
    try:
        with tarfile.open(path, mode="r|*") as tf:
            for info in tf:
                if info.isfile():
                    return Path(info.name).name in CIFAR10_FILES
    except (tarfile.TarError, EOFError, OSError, zlib.error):
        return False
    return False


def _read_files(path: Path) -> dict[str, tuple[bytes, str]]:
    """{basename: (bytes, label for errors)} for the CIFAR-10 files in a folder or archive."""
    found: dict[str, tuple[bytes, str]] = {}
    if path.is_dir():
        folder = path / "cifar-10-batches-py" if (path / "cifar-10-batches-py").is_dir() else path
        for name in CIFAR10_FILES:
            if (folder / name).is_file():
                found[name] = ((folder / name).read_bytes(), str(folder / name))
    elif path.is_file():
        try:
            with tarfile.open(path, mode="r|*") as tf:
                for info in tf:
                    base = Path(info.name).name
                    if info.isfile() and base in CIFAR10_FILES:
                        fh = tf.extractfile(info)
                        found[base] = (fh.read() if fh else b"", f"member {info.name!r} of {path}")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise DataError(f"cannot read CIFAR-10 archive {path}: {exc}") from exc
    else:
        raise DataError(f"CIFAR-10 source {path} does not exist")
    missing = [n for n in CIFAR10_FILES if n not in found]
    if missing:
        raise DataError(f"{path} is not a complete CIFAR-10 python archive: missing "
                        f"{', '.join(missing)} (expected {', '.join(CIFAR10_FILES)})")
    return found


def _batch(raw: dict, label: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    data, labels = raw.get(b"data"), raw.get(b"labels")
    if not isinstance(data, np.ndarray) or labels is None:
        raise DataError(f"CIFAR-10 batch {label} lacks b'data' (array) or b'labels'")
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"CIFAR-10 batch {label}: b'data' is {data.dtype} {data.shape}, "
                        "expected uint8 (n, 3072)")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (data.shape[0],):
        raise DataError(f"CIFAR-10 batch {label}: {labels.shape[0]} labels for "
                        f"{data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"CIFAR-10 batch {label}: labels outside 0..{num_classes - 1}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def read_cifar10_python(path: str | os.PathLike,
                        image_size: int | tuple[int, int] | None = None) -> ImageDataset:
    """Read the official python archive (or its extracted folder) into an ImageDataset.

    Order: data_batch_1..5 then test_batch, each in stored order; names are
    ``<batch>/<index:05d>``; official_split is "train" or "test".
    """
    path = Path(path)
    files = _read_files(path)
    meta = _unpickle(*files[META])
    class_names = [n.decode("utf-8") if isinstance(n, bytes) else str(n)
                   for n in meta.get(b"label_names", [])]
    if not class_names:
        raise DataError(f"CIFAR-10 file {files[META][1]} lacks b'label_names'")
    images, ids, names, split = [], [], [], []
    for batch in (*TRAIN_BATCHES, TEST_BATCH):
        data, label = files[batch]
        x, y = _batch(_unpickle(data, label), label, len(class_names))
        images.append(x)
        ids.append(y)
        names.extend(f"{batch}/{i:05d}" for i in range(len(y)))
        split.extend(["test" if batch == TEST_BATCH else "train"] * len(y))
    x = np.ascontiguousarray(np.concatenate(images))
    y = np.concatenate(ids)
    size = normalize_size(image_size)
    if size is not None and size != (32, 32):
        x = np.stack([np.asarray(Image.fromarray(im).resize((size[1], size[0]), Image.BILINEAR))
                      for im in x])
    labels = np.zeros((len(y), len(class_names)), dtype=np.uint8)
    labels[np.arange(len(y)), y] = 1
    return ImageDataset(x, labels, class_names, names, False, np.asarray(split))


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_cifar10(dest_dir: str | os.PathLike, url: str = CIFAR10_URL,
                     md5: str = CIFAR10_MD5, timeout: float = 60.0) -> Path:
    """Fetch ``cifar-10-python.tar.gz`` into ``dest_dir`` (kept if already there and intact).

    The download goes to a temporary file in ``dest_dir`` and is renamed into place only after
    its MD5 matches, so an interrupted or corrupted download never looks like a good archive.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / CIFAR10_FILENAME
    if target.is_file() and _md5(target) == md5:
        return target
    fd, tmp_name = tempfile.mkstemp(prefix=".cifar10-", suffix=".part", dir=dest_dir)
    tmp = Path(tmp_name)
    try:
        h = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != md5:
            raise DataError(f"download of {url} failed its checksum: md5 {h.hexdigest()}, "
                            f"expected {md5}; nothing was saved, try again")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
