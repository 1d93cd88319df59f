"""The listing: recursive, sorted, symbolic links followed (cycles not), hidden and non-image
files left out; labels from the folder layout."""

import os

import pytest

from dshgan.collection.files import file_digest, folder_labels, list_images


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_recursive_sorted_links_followed(tmp_path):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    for rel in ("b/2.png", "b/10.JPG", "a/deep/er/x.webp", "top.png", "b/notes.txt",
                ".hidden/h.png", "b/.h.png"):
        touch(root / rel)
    for rel in ("s/1.png", "s/sub/2.jpeg"):
        touch(elsewhere / rel)
    os.symlink(elsewhere / "s", root / "linked")  # a linked folder
    os.symlink(elsewhere / "s" / "1.png", root / "b" / "alias.png")  # a linked file
    os.symlink(root, root / "a" / "loop")  # a cycle: skipped, not followed forever
    os.symlink(tmp_path / "nowhere", root / "dangling.png")  # broken link: not a file
    assert list_images(root) == ["a/deep/er/x.webp", "b/10.JPG", "b/2.png", "b/alias.png",
                                 "linked/1.png", "linked/sub/2.jpeg", "top.png"]
    assert list_images(root / "top.png") == ["top.png"]
    with pytest.raises(FileNotFoundError, match="not found"):
        list_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="not an image"):
        list_images(root / "b" / "notes.txt")


def test_folder_labels_follow_the_layouts_training_reads():
    layout = ["cat/1.png", "dog/2.png"]
    assert folder_labels(layout, "auto") == [["cat"], ["dog"]]
    assert folder_labels(layout, "none") is None
    splits = ["test/dog/2.png", "train/cat/1.png"]
    assert folder_labels(splits, "auto") == [["dog"], ["cat"]]
    own = ["labelled/cat/1.jpg", "labelled/dog/2.jpg", "unlabelled/3.jpg",
           "Unlabelled/trip/day1/4.jpg"]
    assert folder_labels(own, "auto") == [["cat"], ["dog"], [], []]
    mixed = ["cat/1.png", "top.png", "dog/x/2.png"]
    assert folder_labels(mixed, "auto") is None  # training would refuse this layout
    assert folder_labels(mixed, "folder") == [["cat"], [], ["x"]]
    with pytest.raises(ValueError, match="labels must be one of"):
        folder_labels(layout, "class")


def test_file_digest(tmp_path):
    import hashlib

    (tmp_path / "f").write_bytes(b"abc" * 1000)
    assert file_digest(tmp_path / "f") == hashlib.sha1(b"abc" * 1000).digest()
