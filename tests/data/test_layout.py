import pytest

from dshgan.data.errors import DataError
from dshgan.data.sources.layout import infer_layout, wanted_file


def test_class_layout_sorted_with_sorted_classes():
    lay = infer_layout(["dog/2.jpg", "cat/1.png", "dog/1.jpg"], [], "src")
    assert lay.names == ["cat/1.png", "dog/1.jpg", "dog/2.jpg"]
    assert lay.class_names == ["cat", "dog"] and lay.splits is None
    assert lay.labels().tolist() == [[1, 0], [0, 1], [0, 1]]


def test_split_layout_records_the_split():
    lay = infer_layout(["train/cat/1.jpg", "test/dog/1.jpg", "train/dog/2.jpg"], [], "src")
    assert lay.names == ["test/dog/1.jpg", "train/cat/1.jpg", "train/dog/2.jpg"]
    assert lay.splits == ["test", "train", "train"]
    assert lay.class_names == ["cat", "dog"]


def test_single_split_folder_is_a_split_not_a_wrapper():
    lay = infer_layout(["train/cat/1.jpg", "train/dog/1.jpg"], [], "src")
    assert lay.splits == ["train", "train"] and lay.class_names == ["cat", "dog"]


@pytest.mark.parametrize("files, splits", [
    (["wrap/cat/1.jpg", "wrap/dog/1.jpg"], None),
    (["./a/b/train/cat/1.jpg", "a/b/test/dog/1.jpg"], ["test", "train"]),
])
def test_wrapper_folders_are_skipped(files, splits):
    lay = infer_layout(files, [], "src")
    assert lay.class_names == ["cat", "dog"] and lay.splits == splits


@pytest.mark.parametrize("files, match", [
    ([], "no image files found in src"),
    (["1.jpg", "2.jpg"], "images must sit in class folders"),
    (["cat/1.jpg", "train/dog/1.jpg"], "different depths.*'cat/1.jpg'.*'train/dog/1.jpg'"),
    (["a/b/c/d/1.jpg", "a/b/x/d/1.jpg", "a/c/c/d/1.jpg"], "too many folder levels"),
])
def test_unknown_layouts_are_refused(files, match):
    with pytest.raises(DataError, match=match):
        infer_layout(files, [], "src")


def test_empty_class_folder_is_an_error_but_other_folders_are_not():
    files = ["train/cat/1.jpg", "test/cat/1.jpg"]
    infer_layout(files, ["train", "test", "train/cat", ".hidden", "train/.cache"], "src")
    with pytest.raises(DataError, match="class folder 'test/dog' in src holds no images"):
        infer_layout(files, ["train/cat", "test/dog"], "src")


def test_which_files_count():
    assert wanted_file("cat/1.JPG") and wanted_file("a/b.jpeg") and wanted_file("x/y.png")
    assert not wanted_file("cat/notes.txt")
    assert not wanted_file("cat/.1.jpg") and not wanted_file("__MACOSX/cat/._1.jpg")
