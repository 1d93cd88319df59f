import pytest

from dshgan.data.errors import DataError
from dshgan.data.sources import detect_source, load_dataset
from dshgan.data.writers import write_cifar10_python, write_list_dataset


def test_detect_every_kind(tmp_path, tmp_image_folder, toy_dataset):
    assert detect_source(tmp_image_folder) == "folder"
    lst = write_list_dataset(toy_dataset, tmp_path / "l.txt", tmp_path / "img")
    assert detect_source(lst) == "list"
    assert detect_source(None, list_file=lst) == "list"
    assert detect_source(None, list_dir=tmp_path) == "list-dir"
    assert detect_source(write_cifar10_python(toy_dataset, tmp_path / "c.tgz")) \
        == "cifar10-python"
    assert len(load_dataset(lst, image_root=tmp_path / "img")) == len(toy_dataset)
    inside = write_list_dataset(toy_dataset, tmp_path / "j" / "l.txt", tmp_path / "j")
    assert len(load_dataset(inside)) == len(toy_dataset)  # image root = the list's folder


def test_unknown_and_missing_sources(tmp_path):
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(DataError, match="unknown source .*x.csv"):
        load_dataset(tmp_path / "x.csv")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "missing")
    with pytest.raises(DataError, match="give a source path"):
        load_dataset(None)
    with pytest.raises(DataError, match="not both"):
        load_dataset(None, list_file="a.txt", list_dir="b")
    with pytest.raises(DataError, match="list folder .* holds no"):
        load_dataset(None, list_dir=tmp_path)
