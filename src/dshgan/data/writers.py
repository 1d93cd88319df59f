"""Write an ImageDataset in every format the readers accept: tests use these end to end.

Everything is written to a temporary name and renamed into place, so a failure leaves nothing.
PNG (lossless) is the default so that a round trip gives back the exact pixels.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from dshgan.data.dataset import ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.sources.archive import TAR_SUFFIXES
from dshgan.data.sources.cifar10 import META, TEST_BATCH, TRAIN_BATCHES
from dshgan.io_utils import atomic_dir, atomic_file

_PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "bmp": "BMP"}


def encode_image(image: np.ndarray, fmt: str = "png") -> bytes:
    """uint8 (H, W, 3) -> encoded bytes; JPEG at quality 95."""
    key = fmt.lower().lstrip(".")
    if key not in _PIL_FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}; choose from {sorted(_PIL_FORMATS)}")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=_PIL_FORMATS[key],
                                **({"quality": 95} if _PIL_FORMATS[key] == "JPEG" else {}))
    return buf.getvalue()


def _folder_members(dataset: ImageDataset, with_split: bool, fmt: str,
                    ) -> list[tuple[str, int]]:
    """[(relative path, index)]: ``[<split>/]<class>/<index:05d>.<fmt>``."""
    if dataset.multi_label:
        raise ValueError("a class-folder layout cannot hold multi-label data; use a list file")
    if with_split and dataset.official_split is None:
        raise ValueError("with_split=True needs dataset.official_split")
    ids = dataset.class_ids
    out = []
    for i in range(len(dataset)):
        rel = f"{dataset.class_names[ids[i]]}/{i:05d}.{fmt}"
        if with_split:
            rel = f"{dataset.official_split[i]}/{rel}"  # type: ignore[index]
        out.append((rel, i))
    return out


def write_image_folder(dataset: ImageDataset, root: str | os.PathLike, with_split: bool = False,
                       fmt: str = "png") -> Path:
    """Write ``root/[<split>/]<class>/<index>.<fmt>``; ``root`` must not exist or be empty."""
    members = _folder_members(dataset, with_split, fmt)
    with atomic_dir(root) as tmp:
        for rel, i in members:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(encode_image(dataset.images[i], fmt))
    return Path(root)


def write_image_archive(dataset: ImageDataset, path: str | os.PathLike, with_split: bool = False,
                        fmt: str = "png", prefix: str = "") -> Path:
    """Write the folder layout into a .tar/.tar.gz/.tgz/.tar.bz2/.tar.xz/.zip (by suffix).

    ``prefix`` puts every member under a wrapper folder, as many published archives do.
    """
    path = Path(path)
    members = [(prefix.rstrip("/") + "/" + rel if prefix else rel, i)
               for rel, i in _folder_members(dataset, with_split, fmt)]
    dirs = sorted({str(PurePosixPath(rel).parent) for rel, _ in members})
    lower = path.name.lower()
    with atomic_file(path) as fh:
        if lower.endswith(".zip"):
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                for d in dirs:
                    zf.writestr(d + "/", b"")
                for rel, i in members:
                    zf.writestr(rel, encode_image(dataset.images[i], fmt))
        elif lower.endswith(TAR_SUFFIXES):
            mode = {"gz": "w:gz", "tgz": "w:gz", "bz2": "w:bz2", "tbz2": "w:bz2", "xz": "w:xz",
                    "txz": "w:xz"}.get(lower.rsplit(".", 1)[-1], "w")
            with tarfile.open(fileobj=fh, mode=mode) as tf:
                for d in dirs:
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                    tf.addfile(info)
                for rel, i in members:
                    add_bytes_to_tar(tf, rel, encode_image(dataset.images[i], fmt))
        else:
            raise ValueError(f"unknown archive suffix for {path}; use .tar, .tar.gz, .tgz, "
                             ".tar.bz2, .tar.xz or .zip")
    return path


def add_bytes_to_tar(tf: tarfile.TarFile, name: str, data: bytes, mtime: int = 0) -> None:
    """Add one regular file with fixed owner and mode (reproducible archives)."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, mtime
    tf.addfile(info, io.BytesIO(data))


def format_list_lines(names: Sequence[str], labels: np.ndarray) -> str:
    """The list-file text for ``names`` and multi-hot ``labels`` (names may not hold spaces)."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != len(names):
        raise ValueError(f"labels shape {labels.shape} does not match {len(names)} names")
    lines = []
    for name, row in zip(names, labels):
        if not name or any(ch.isspace() for ch in name):
            raise DataError(f"image name {name!r} is empty or holds whitespace, which the "
                            "list-file format cannot represent")
        lines.append(name + " " + " ".join("1" if v else "0" for v in row.tolist()))
    return "\n".join(lines) + ("\n" if lines else "")


def write_list_file(path: str | os.PathLike, names: Sequence[str], labels: np.ndarray) -> Path:
    """Write ``<name> <0/1> ... <0/1>`` per image, atomically."""
    text = format_list_lines(names, labels)
    with atomic_file(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_list_dataset(dataset: ImageDataset, list_path: str | os.PathLike,
                       image_root: str | os.PathLike) -> Path:
    """Save each image as ``image_root/<name>`` (format from its suffix) and the list file.

    ``image_root`` must not exist or be empty; names must be relative paths with an image suffix.
    """
    for name in dataset.names:
        p = PurePosixPath(name)
        if p.is_absolute() or ".." in p.parts or p.suffix.lower().lstrip(".") not in _PIL_FORMATS:
            raise ValueError(f"name {name!r} is not a relative path ending in "
                             f"{', '.join('.' + k for k in _PIL_FORMATS)}")
    with atomic_dir(image_root) as tmp:
        for name, image in zip(dataset.names, dataset.images):
            out = tmp / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(encode_image(image, PurePosixPath(name).suffix))
    return write_list_file(list_path, dataset.names, dataset.labels)


def write_cifar10_python(dataset: ImageDataset, path: str | os.PathLike) -> Path:
    """Write the official CIFAR-10 python format: a .tar.gz, or a folder for any other path.

    Images must be 32x32 and single-label; official_split "test" goes to test_batch, the rest is
    spread over data_batch_1..5 in order.
    """
    if dataset.image_size != (32, 32) or dataset.multi_label:
        raise ValueError("CIFAR-10 format needs 32x32 single-label images, got "
                         f"{dataset.image_size}, multi_label={dataset.multi_label}")
    is_test = (np.zeros(len(dataset), bool) if dataset.official_split is None
               else dataset.official_split == "test")
    ids = dataset.class_ids
    flat = dataset.images.transpose(0, 3, 1, 2).reshape(len(dataset), -1)
    train_parts = np.array_split(np.flatnonzero(~is_test), len(TRAIN_BATCHES))
    batches = dict(zip(TRAIN_BATCHES, train_parts)) | {TEST_BATCH: np.flatnonzero(is_test)}
    files = {}
    for name, idx in batches.items():
        files[name] = pickle.dumps({
            b"batch_label": name.encode(), b"labels": ids[idx].tolist(),
            b"data": np.ascontiguousarray(flat[idx]),
            b"filenames": [dataset.names[i].encode() for i in idx.tolist()],
        }, protocol=2)
    files[META] = pickle.dumps({b"label_names": [c.encode() for c in dataset.class_names],
                                b"num_cases_per_batch": len(train_parts[0]),
                                b"num_vis": 3072}, protocol=2)
    path = Path(path)
    if path.name.lower().endswith((".tar.gz", ".tgz")):
        with atomic_file(path) as fh, tarfile.open(fileobj=fh, mode="w:gz") as tf:
            for name, data in files.items():
                add_bytes_to_tar(tf, f"cifar-10-batches-py/{name}", data)
    else:
        with atomic_dir(path) as tmp:
            for name, data in files.items():
                (tmp / name).write_bytes(data)
    return path
