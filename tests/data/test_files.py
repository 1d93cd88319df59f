import numpy as np

from dshgan.data.files import ImageFiles, decode_part, part_batches
from dshgan.data.sources import read_image_folder, scan_dataset


def test_path_backed_parts_equal_the_in_memory_dataset(tmp_image_folder):
    in_memory = read_image_folder(tmp_image_folder)
    files = ImageFiles(tmp_image_folder, scan_dataset(tmp_image_folder))
    assert files.names == in_memory.names and np.array_equal(files.labels, in_memory.labels)
    idx = np.array([5, 0, 3])
    for data in (files, in_memory):
        got = decode_part(data, idx, in_memory.image_size[0], workers=0)
        assert got.kept.tolist() == [5, 0, 3] and not got.failures
        assert np.array_equal(got.images, in_memory.images[idx])
    streamed = list(part_batches(files, np.arange(len(files)), in_memory.image_size[0],
                                 batch_size=4, workers=0))
    assert all(len(b.kept) <= 4 for b in streamed)
    assert np.array_equal(np.concatenate([b.images for b in streamed]), in_memory.images)


def test_a_broken_file_drops_out_of_its_part(tmp_image_folder):
    files = ImageFiles(tmp_image_folder, scan_dataset(tmp_image_folder))
    files.path(2).write_bytes(b"not an image")
    got = decode_part(files, np.arange(5), 32, workers=0)
    assert got.kept.tolist() == [0, 1, 3, 4]
    assert got.failures[0][0] == 2 and "cannot decode" in got.failures[0][1]
    assert got.images.shape == (4, 32, 32, 3)
