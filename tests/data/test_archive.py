import io
import tarfile
import zipfile

import numpy as np
import pytest

from dshgan.data.errors import DataError
from dshgan.data.sources import load_dataset, read_image_archive, scan_dataset
from dshgan.data.sources.archive import is_archive
from dshgan.data.writers import encode_image, write_image_archive, write_image_folder


def _index(name):
    return int(name.rsplit("/", 1)[1].split(".")[0])


def test_archive_round_trip_is_exact(tmp_image_archive, toy_dataset):
    ds = load_dataset(tmp_image_archive)
    assert ds.names == sorted(ds.names) and ds.class_names == toy_dataset.class_names
    idx = [_index(n) for n in ds.names]
    assert sorted(idx) == list(range(len(toy_dataset)))
    assert np.array_equal(ds.images, toy_dataset.images[idx])
    assert np.array_equal(ds.labels, toy_dataset.labels[idx])
    cat = scan_dataset(tmp_image_archive)
    assert cat.names == ds.names and cat.fingerprint() == ds.fingerprint()


@pytest.mark.parametrize("suffix", ["tgz", "zip", "tar.xz"])
def test_split_layout_under_a_wrapper_folder(tmp_path, toy_split_dataset, suffix):
    path = write_image_archive(toy_split_dataset, tmp_path / f"a.{suffix}", with_split=True,
                               prefix="cifar-ish")
    ds = read_image_archive(path)
    assert all(n.startswith("cifar-ish/") for n in ds.names)
    idx = [_index(n) for n in ds.names]
    assert ds.official_split.tolist() == toy_split_dataset.official_split[idx].tolist()
    assert np.array_equal(ds.images, toy_split_dataset.images[idx])


def test_archive_and_folder_agree_on_names_and_pixels(tmp_image_folder, tmp_path, toy_dataset):
    archive = write_image_archive(toy_dataset, tmp_path / "same.tar.gz")
    a, f = load_dataset(archive), load_dataset(tmp_image_folder)
    assert a.names == f.names and np.array_equal(a.images, f.images)


def test_file_object_and_resize(tmp_path, toy_dataset):
    path = write_image_archive(toy_dataset, tmp_path / "a.tar.gz")
    with open(path, "rb") as fh:
        ds = read_image_archive(fh, image_size=16)
    assert ds.images.shape == (48, 16, 16, 3)


def _tar_with(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


def test_corrupt_member_names_archive_and_member(tmp_path):
    good = encode_image(np.zeros((4, 4, 3), np.uint8))
    path = _tar_with(tmp_path / "x.tar.gz", [("a/1.png", good), ("b/2.png", b"junk bytes")])
    with pytest.raises(DataError, match=r"cannot decode image member 'b/2.png' of .*x.tar.gz"):
        read_image_archive(path)
    zpath = tmp_path / "x.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("a/1.png", good)
        zf.writestr("b/2.png", good[:30])
    with pytest.raises(DataError, match=r"member 'b/2.png' of .*x.zip"):
        read_image_archive(zpath)


def test_empty_class_in_archive_and_unknown_layout(tmp_path):
    good = encode_image(np.zeros((4, 4, 3), np.uint8))
    path = _tar_with(tmp_path / "e.tar.gz", [("a/", None), ("a/1.png", good), ("b/", None)])
    with pytest.raises(DataError, match="class folder 'b' in .*e.tar.gz holds no images"):
        read_image_archive(path)
    flat = _tar_with(tmp_path / "flat.tar.gz", [("1.png", good), ("2.png", good)])
    with pytest.raises(DataError, match="unknown layout .*class folders"):
        read_image_archive(flat)
    none = _tar_with(tmp_path / "none.tar.gz", [("a/readme.txt", b"hi")])
    with pytest.raises(DataError, match="no image files found"):
        read_image_archive(none)


def test_truncated_and_missing_archives(tmp_path, toy_dataset):
    path = write_image_archive(toy_dataset, tmp_path / "t.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="cannot read archive .*cut.tar.gz"):
        read_image_archive(cut)
    with pytest.raises(DataError, match="does not exist"):
        read_image_archive(tmp_path / "missing.tar")
    assert is_archive("x.TGZ") and not is_archive("x.txt")


def test_writers_leave_nothing_behind_on_failure(tmp_path, toy_multilabel_dataset, toy_dataset):
    with pytest.raises(ValueError, match="multi-label"):
        write_image_archive(toy_multilabel_dataset, tmp_path / "m.tar.gz")
    with pytest.raises(ValueError, match="unknown archive suffix"):
        write_image_archive(toy_dataset, tmp_path / "m.rar")
    with pytest.raises(ValueError, match="multi-label"):
        write_image_folder(toy_multilabel_dataset, tmp_path / "folder")
    # Failures in the middle of writing (an unknown image format) also leave no trace.
    with pytest.raises(ValueError, match="unsupported image format"):
        write_image_archive(toy_dataset, tmp_path / "m.tar.gz", fmt="xyz")
    with pytest.raises(ValueError, match="unsupported image format"):
        write_image_folder(toy_dataset, tmp_path / "folder", fmt="xyz")
    assert list(tmp_path.iterdir()) == []
