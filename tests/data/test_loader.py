import numpy as np
import pytest

from dshgan.data.images import decode_image
from dshgan.data.loader import decode_batches
from dshgan.data.writers import encode_image


def _files(tmp_path, n=7):
    paths = []
    for i in range(n):
        image = np.random.default_rng(i).integers(0, 256, (10 + i, 12, 3), dtype=np.uint8)
        path = tmp_path / f"{i}.png"
        path.write_bytes(encode_image(image))
        paths.append(path)
    return paths


@pytest.mark.parametrize("workers", [0, 2])
def test_batches_come_in_order_and_equal_decoding_one_by_one(tmp_path, workers):
    paths = _files(tmp_path)
    batches = list(decode_batches(paths, 8, batch_size=3, workers=workers))
    assert [b.positions.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    got = np.concatenate([b.images for b in batches])
    want = np.stack([decode_image(p.read_bytes(), str(p), (8, 8)) for p in paths])
    assert np.array_equal(got, want)


def test_undecodable_and_missing_files_are_reported_not_raised(tmp_path):
    paths = _files(tmp_path, 4)
    paths[1].write_bytes(paths[1].read_bytes()[:40])  # truncated PNG
    paths[3] = tmp_path / "gone.png"
    batches = list(decode_batches(paths, 8, batch_size=4, workers=0))
    assert batches[0].positions.tolist() == [0, 2]
    assert [p for p, _ in batches[0].failures] == [1, 3]
    assert "1.png" in batches[0].failures[0][1] and "gone.png" in batches[0].failures[1][1]
