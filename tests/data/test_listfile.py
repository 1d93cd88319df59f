import numpy as np
import pytest

from dshgan.data.errors import DataError
from dshgan.data.sources import load_dataset, parse_list_file, read_list_dataset, scan_dataset
from dshgan.data.writers import encode_image, write_list_dataset, write_list_file


def test_list_round_trip_multilabel(tmp_path, toy_multilabel_dataset):
    ds = toy_multilabel_dataset
    lst = write_list_dataset(ds, tmp_path / "train.txt", tmp_path / "images")
    back = load_dataset(tmp_path / "images", list_file=lst)
    assert back.multi_label and back.names == ds.names
    assert np.array_equal(back.images, ds.images) and np.array_equal(back.labels, ds.labels)
    assert back.class_names == ["class_00", "class_01", "class_02", "class_03"]
    named = read_list_dataset(lst, tmp_path / "images", class_names=list("abcd"))
    assert named.class_names == list("abcd")
    assert scan_dataset(lst).fingerprint() == back.fingerprint()
    # A single-label list is recognised as such.
    one_hot = write_list_file(tmp_path / "one.txt", ds.names[:2], np.eye(4, dtype=np.uint8)[:2])
    assert not read_list_dataset(one_hot, tmp_path / "images").multi_label


def test_list_dir_merges_files_and_checks_agreement(tmp_path, toy_multilabel_dataset):
    ds = toy_multilabel_dataset
    write_list_dataset(ds, tmp_path / "all.txt", tmp_path / "images")
    lists = tmp_path / "lists"
    write_list_file(lists / "test.txt", ds.names[:10], ds.labels[:10])
    write_list_file(lists / "train.txt", ds.names[10:], ds.labels[10:])
    merged = load_dataset(None, list_dir=lists, image_root=tmp_path / "images")
    assert merged.names == ds.names and np.array_equal(merged.images, ds.images)
    assert merged.official_split.tolist() == ["test"] * 10 + ["train"] * 38
    # HashNet style: the database list repeats the training images; no official split then.
    write_list_file(lists / "database.txt", ds.names[5:], ds.labels[5:])
    cat = scan_dataset(None, list_dir=lists)
    assert len(cat) == 48 and cat.official_split is None
    wrong = ds.labels[5:].copy()
    wrong[0] = 1 - wrong[0]
    write_list_file(lists / "database.txt", ds.names[5:], wrong)
    with pytest.raises(DataError, match=r"test.txt:6: .* has other labels than at .*database"):
        scan_dataset(None, list_dir=lists)


@pytest.mark.parametrize("text, line, match", [
    ("a.png 0 1 0\nb.png 0 1\n", 2, "label vector has 2 entries but line 1 has 3"),
    ("a.png 0 1 0\nb.png 0 2 0\n", 2, "label entry 2 is '2', expected 0 or 1"),
    ("a.png 0 1 0\nmy pic.png 0 1 0\n", 2, "label entry 1 is 'pic.png'.*spaces"),
    ("a.png 0 1 0\n\nb.png 1 0 0\n", 2, "blank line"),
    ("a.png 0 1 0\nb.png 0 0 0\n", 2, "'b.png' has an all-zero label vector; remove"),
    ("a.png 0 1 0\na.png 0 1 0\n", 2, "'a.png' is already listed at line 1"),
    ("a.png 0 1 0.0\n", 1, "label entry 3 is '0.0'"),
])
def test_malformed_lines_name_file_and_line(tmp_path, text, line, match):
    path = tmp_path / "nus.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"nus.txt:{line}: {match}"):
        parse_list_file(path)


def test_expected_width_trailing_blank_lines_and_crlf(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("a.png 0 1 0\r\nb.png 1 0 0\r\n\n  \n")
    parsed = parse_list_file(path)
    assert parsed.names == ["a.png", "b.png"] and parsed.lines == [1, 2]
    assert parsed.labels.tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(DataError, match="l.txt:1: label vector has 3 entries but 21 classes"):
        parse_list_file(path, num_classes=21)
    with pytest.raises(DataError, match="l.txt:1: label vector has 3 entries but 2 classes are"):
        load_dataset(path, class_names=["x", "y"])


def test_missing_empty_and_unreadable_inputs(tmp_path):
    with pytest.raises(DataError, match="list file .*nope.txt does not exist"):
        parse_list_file(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(DataError, match="empty.txt has no entries"):
        parse_list_file(tmp_path / "empty.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00 0 1")
    with pytest.raises(DataError, match="cannot read list file .*bin.txt"):
        parse_list_file(tmp_path / "bin.txt")


def test_missing_and_corrupt_images_name_list_line_and_file(tmp_path):
    root = tmp_path / "img"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.png").write_bytes(encode_image(np.zeros((6, 6, 3), np.uint8)))
    (root / "sub" / "b.png").write_bytes(b"garbage")
    lst = tmp_path / "l.txt"
    lst.write_text("sub/a.png 1 0\nsub/c.png 0 1\n")
    with pytest.raises(DataError, match=r"l.txt:2: image .*sub/c.png not found"):
        read_list_dataset(lst, root)
    lst.write_text("sub/a.png 1 0\nsub/b.png 0 1\n")
    with pytest.raises(DataError, match=r"cannot decode image .*sub/b.png \(.*l.txt:2\)"):
        read_list_dataset(lst, root)
    with pytest.raises(DataError, match="image root .* is not a directory"):
        read_list_dataset(lst, tmp_path / "nowhere")
    lst.write_text("sub/a.png 1 1\n")
    with pytest.raises(DataError, match="l.txt:1: several labels set but multi_label=False"):
        read_list_dataset(lst, root, multi_label=False)


def test_varied_sizes_need_image_size(tmp_path):
    root = tmp_path / "img"
    root.mkdir()
    (root / "a.png").write_bytes(encode_image(np.zeros((6, 6, 3), np.uint8)))
    (root / "b.png").write_bytes(encode_image(np.zeros((9, 4, 3), np.uint8)))
    lst = tmp_path / "l.txt"
    lst.write_text("a.png 1 0\nb.png 0 1\n")
    with pytest.raises(DataError, match="pass image_size"):
        read_list_dataset(lst, root)
    assert read_list_dataset(lst, root, image_size=5).images.shape == (2, 5, 5, 3)


def test_writer_refuses_names_with_spaces(tmp_path):
    with pytest.raises(DataError, match="whitespace"):
        write_list_file(tmp_path / "x.txt", ["a b.png"], np.ones((1, 1), np.uint8))
    assert not (tmp_path / "x.txt").exists()


def test_a_list_without_any_label_vector_is_refused(tmp_path):
    path = tmp_path / "nus.txt"
    path.write_text("junk\nb.png\n")
    with pytest.raises(DataError, match="nus.txt: no line has a label vector"):
        parse_list_file(path)


def test_a_line_with_only_a_path_is_an_unlabelled_image(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("u.png\na.png 0 1 0\nv.png\nb.png 1 0 0\n")
    parsed = parse_list_file(path)
    assert parsed.names == ["u.png", "a.png", "v.png", "b.png"]
    assert parsed.labels.tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]]
    assert parsed.lines == [1, 2, 3, 4]
