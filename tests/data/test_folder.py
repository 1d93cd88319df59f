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


def _png(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_image(np.full((4, 4, 3), value, np.uint8)))


def test_labelled_folders_beside_unlabelled_ones_at_any_depth(tmp_path):
    _png(tmp_path / "labelled" / "cat" / "1.png", 10)
    _png(tmp_path / "labelled" / "dog" / "2.png", 20)
    _png(tmp_path / "unlabelled" / "3.png", 30)
    _png(tmp_path / "unlabelled" / "trip" / "day2" / "4.png", 40)
    cat = scan_dataset(tmp_path)
    assert cat.class_names == ["cat", "dog"]
    assert cat.names == ["labelled/cat/1.png", "labelled/dog/2.png", "unlabelled/3.png",
                         "unlabelled/trip/day2/4.png"]
    assert cat.labels.tolist() == [[1, 0], [0, 1], [0, 0], [0, 0]]
    assert cat.is_labelled.tolist() == [True, True, False, False]
    ds = read_image_folder(tmp_path)
    assert ds.images[:, 0, 0, 0].tolist() == [10, 20, 30, 40]


@pytest.mark.parametrize("extra, match", [
    ("stray/5.png", "outside labelled/ and unlabelled/"),
    ("labelled/6.png", "is not labelled/<class>/<image>"),
    ("labelled/cat/deeper/7.png", "is not labelled/<class>/<image>"),
])
def test_labelled_unlabelled_layout_refuses_images_elsewhere(tmp_path, extra, match):
    _png(tmp_path / "labelled" / "cat" / "1.png", 10)
    _png(tmp_path / "unlabelled" / "3.png", 30)
    _png(tmp_path / extra, 50)
    with pytest.raises(DataError, match=match):
        scan_dataset(tmp_path)


def test_only_unlabelled_images_is_refused(tmp_path):
    _png(tmp_path / "unlabelled" / "3.png", 30)
    with pytest.raises(DataError, match="no labelled images"):
        scan_dataset(tmp_path)


def test_class_folders_that_are_symbolic_links_are_followed(tmp_path):
    store = tmp_path / "store"
    _png(store / "cats" / "1.png", 10)
    _png(store / "dogs" / "2.png", 20)
    root = tmp_path / "root"
    root.mkdir()
    (root / "cat").symlink_to(store / "cats", target_is_directory=True)
    (root / "dog").symlink_to(store / "dogs", target_is_directory=True)
    (store / "cats" / "loop").symlink_to(root, target_is_directory=True)  # a cycle must end
    ds = read_image_folder(root)
    assert ds.class_names == ["cat", "dog"]
    assert ds.names == ["cat/1.png", "dog/2.png"]
