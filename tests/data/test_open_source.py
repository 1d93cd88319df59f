import numpy as np

from dshgan.data.dataset import ImageDataset
from dshgan.data.files import ImageFiles
from dshgan.data.open_source import open_images
from dshgan.data.writers import encode_image


def test_folders_stay_on_disk_and_archives_are_decoded(tmp_image_folder, tmp_image_archive):
    files = open_images(tmp_image_folder, 32)
    assert isinstance(files, ImageFiles) and files.root == tmp_image_folder
    decoded = open_images(tmp_image_archive, 16)
    assert isinstance(decoded, ImageDataset) and decoded.image_size == (16, 16)
    assert decoded.names == files.names


def test_list_files_with_unlabelled_lines_and_top_concepts(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    rows = {"a.png": "1 0 1", "b.png": "0 1 0", "c.png": "1 0 0", "d.png": "", "e.png": "1 0 1"}
    for name in rows:
        (root / name).write_bytes(encode_image(np.zeros((4, 4, 3), np.uint8)))
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "all.txt").write_text("".join(f"{n} {v}\n" for n, v in rows.items()))
    data = open_images(None, 8, list_dir=lists, image_root=root, top=2)
    assert isinstance(data, ImageFiles) and data.multi_label
    assert data.class_names == ["class_00", "class_02"]  # counts 3, 1, 2: the middle one goes
    assert data.names == ["a.png", "c.png", "d.png", "e.png"]  # b.png is left with none
    assert data.labels.tolist() == [[1, 1], [1, 0], [0, 0], [1, 1]]  # d.png: unlabelled
    assert data.path(0) == root / "a.png"
