import hashlib
import io
import os
import pickle
import tarfile
import urllib.request

import numpy as np
import pytest

from dshgan.data.dataset import ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.sources import detect_source, load_dataset
from dshgan.data.sources.cifar10 import (
    CIFAR10_MD5,
    download_cifar10,
    is_cifar10_python,
    read_cifar10_python,
)
from dshgan.data.writers import write_cifar10_python

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _naive_row(img):
    """The documented CIFAR-10 row: 1024 red, then 1024 green, then 1024 blue, row-major."""
    row = np.empty(3072, np.uint8)
    for c in range(3):
        for y in range(32):
            for x in range(32):
                row[c * 1024 + y * 32 + x] = img[y, x, c]
    return row


def _hand_made_archive(path, images_per_batch=2, payload=None):
    """A cifar-10-python.tar.gz built by hand (not by our writer), keys as in the original."""
    rng = np.random.default_rng(0)
    truth = []
    with tarfile.open(path, "w:gz") as tf:
        def add(name, obj):
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))

        for b in BATCHES:
            imgs = rng.integers(0, 256, (images_per_batch, 32, 32, 3), dtype=np.uint8)
            labels = [int(v) for v in rng.integers(0, 3, images_per_batch)]
            truth.append((imgs, labels))
            add(b, payload if payload is not None and b == "data_batch_3" else {
                b"batch_label": b.encode(), b"labels": labels,
                b"data": np.stack([_naive_row(im) for im in imgs]),
                b"filenames": [f"f{i}.png".encode() for i in range(images_per_batch)]})
        add("batches.meta", {b"label_names": [b"cat", b"dog", b"emu"], b"num_vis": 3072})
    return path, truth


def test_reads_a_hand_made_archive_with_the_documented_pixel_order(tmp_path):
    path, truth = _hand_made_archive(tmp_path / "cifar-10-python.tar.gz")
    assert is_cifar10_python(path) and detect_source(path) == "cifar10-python"
    ds = load_dataset(path)
    assert ds.class_names == ["cat", "dog", "emu"]
    assert np.array_equal(ds.images, np.concatenate([t[0] for t in truth]))
    assert ds.class_ids.tolist() == [v for t in truth for v in t[1]]
    assert ds.names[:3] == ["data_batch_1/00000", "data_batch_1/00001", "data_batch_2/00000"]
    assert ds.official_split.tolist() == ["train"] * 10 + ["test"] * 2
    assert read_cifar10_python(path, image_size=16).images.shape == (12, 16, 16, 3)


def test_writer_round_trip_archive_and_extracted_folder(tmp_path, toy_split_dataset):
    ds = toy_split_dataset
    for target in (tmp_path / "c.tar.gz", tmp_path / "extracted"):
        write_cifar10_python(ds, target)
        back = load_dataset(target)
        test = ds.official_split == "test"
        order = np.concatenate([np.flatnonzero(~test), np.flatnonzero(test)])
        assert np.array_equal(back.images, ds.images[order])
        assert np.array_equal(back.labels, ds.labels[order])
        assert back.official_split.tolist() == ds.official_split[order].tolist()
    # The parent of an extracted cifar-10-batches-py/ folder is recognised too.
    parent = tmp_path / "parent"
    write_cifar10_python(ds, parent / "cifar-10-batches-py")
    assert detect_source(parent) == "cifar10-python" and len(load_dataset(parent)) == len(ds)


def test_writer_needs_32px_single_label(tmp_path, toy_multilabel_dataset):
    with pytest.raises(ValueError, match="32x32 single-label"):
        write_cifar10_python(toy_multilabel_dataset, tmp_path / "c.tar.gz")
    small = ImageDataset(np.zeros((1, 8, 8, 3), np.uint8), np.ones((1, 1), np.uint8), ["a"],
                         ["x"])
    with pytest.raises(ValueError, match="32x32"):
        write_cifar10_python(small, tmp_path / "c.tar.gz")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("payload, match", [
    (_Evil(), "not allowed in a CIFAR batch"),
    ([1, 2, 3], "holds a list, expected a dict"),
    ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, r"expected uint8 \(n, 3072\)"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "1 labels for 2 images"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 7]}, "labels outside 0..2"),
    ({b"labels": [0, 1]}, "lacks b'data'"),
])
def test_bad_batches_are_refused_and_named(tmp_path, payload, match):
    path, _ = _hand_made_archive(tmp_path / "c.tar.gz", payload=payload)
    with pytest.raises(DataError, match=match) as err:
        read_cifar10_python(path)
    assert "data_batch_3" in str(err.value)


def test_missing_batches_are_listed(tmp_path, toy_split_dataset):
    folder = write_cifar10_python(toy_split_dataset, tmp_path / "cifar-10-batches-py")
    (folder / "data_batch_4").unlink()
    (folder / "test_batch").unlink()
    with pytest.raises(DataError, match="missing data_batch_4, test_batch"):
        read_cifar10_python(folder)


class _FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_download_checksum_failure_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return _FakeResponse(b"definitely not the CIFAR-10 archive" * 1000)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(DataError, match=f"failed its checksum.*expected {CIFAR10_MD5}"):
        download_cifar10(tmp_path / "dl")
    assert calls == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert list((tmp_path / "dl").iterdir()) == []


def test_download_success_is_atomic_and_cached(tmp_path, monkeypatch):
    payload = b"pretend archive bytes" * 100_000
    md5 = hashlib.md5(payload).hexdigest()
    calls = []

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return _FakeResponse(payload)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    path = download_cifar10(tmp_path, url="http://example.invalid/c.tgz", md5=md5)
    assert path.read_bytes() == payload and [p.name for p in tmp_path.iterdir()] == [path.name]
    assert download_cifar10(tmp_path, url="http://example.invalid/c.tgz", md5=md5) == path
    assert len(calls) == 1  # the intact file is kept, not fetched again
