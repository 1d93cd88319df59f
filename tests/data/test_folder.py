import numpy as np
import pytest

from dshgan.data.errors import DataError
from dshgan.data.sources import load_dataset, read_image_folder, scan_dataset
from dshgan.data.writers import encode_image, write_image_folder


def _index(name):
    return int(name.rsplit("/", 1)[1].split(".")[0])


def test_folder_round_trip_is_exact(tmp_image_folder, toy_dataset):
    ds = read_image_folder(tmp_image_folder)
    assert ds.class_names == toy_dataset.class_names and ds.official_split is None
    assert ds.names == sorted(ds.names)
    idx = [_index(n) for n in ds.names]
    assert np.array_equal(ds.images, toy_dataset.images[idx])
    assert np.array_equal(ds.labels, toy_dataset.labels[idx])


def test_split_folder_records_official_split(tmp_path, toy_split_dataset):
    root = write_image_folder(toy_split_dataset, tmp_path / "f", with_split=True)
    ds = load_dataset(root)
    idx = [_index(n) for n in ds.names]
    assert ds.official_split.tolist() == toy_split_dataset.official_split[idx].tolist()
    assert np.array_equal(ds.images, toy_split_dataset.images[idx])
    cat = scan_dataset(root)
    assert cat.names == ds.names and np.array_equal(cat.labels, ds.labels)
    assert cat.fingerprint() == ds.fingerprint()


def test_resize_and_mixed_sizes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "1.png").write_bytes(encode_image(np.zeros((8, 8, 3), np.uint8)))
    (tmp_path / "b" / "1.png").write_bytes(encode_image(np.zeros((6, 10, 3), np.uint8)))
    (tmp_path / "README.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"differ in size.*b/1.png is 10x6"):
        read_image_folder(tmp_path)
    ds = read_image_folder(tmp_path, image_size=(4, 5))
    assert ds.images.shape == (2, 4, 5, 3) and ds.class_names == ["a", "b"]


def test_corrupt_image_names_the_file(tmp_image_folder):
    bad = tmp_image_folder / "class_2" / "00030.png"
    bad.write_bytes(bad.read_bytes()[:60])
    with pytest.raises(DataError, match=r"cannot decode image .*class_2/00030.png"):
        read_image_folder(tmp_image_folder)


def test_empty_class_folder_and_missing_folder(tmp_image_folder, tmp_path):
    (tmp_image_folder / "class_9").mkdir()
    with pytest.raises(DataError, match="class folder 'class_9' .* holds no images"):
        read_image_folder(tmp_image_folder)
    with pytest.raises(DataError, match="does not exist"):
        read_image_folder(tmp_path / "nope")
