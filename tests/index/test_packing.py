import numpy as np
import pytest

from dshgan.index.packing import from_planes, pack_codes, plane_widths, to_planes, unpack_codes


@pytest.mark.parametrize("bits", [1, 8, 12, 24, 48, 56, 63, 64, 65, 200, 1024])
def test_planes_round_trip_and_exact_size(bits, rng):
    codes = rng.integers(0, 2, (37, bits))
    packed = pack_codes(codes)
    planes = to_planes(packed, bits)
    assert sum(p.nbytes for p in planes) == packed.nbytes  # no padding to whole words
    assert all(p.flags.c_contiguous and p.shape[1] == 37 for p in planes)
    np.testing.assert_array_equal(from_planes(planes, bits), packed)
    np.testing.assert_array_equal(unpack_codes(from_planes(planes, bits), bits), codes)


def test_plane_widths():
    assert plane_widths(64) == (1, 0, 0, 0)
    assert plane_widths(48) == (0, 1, 1, 0)  # 6 bytes = 4 + 2
    assert plane_widths(56) == (0, 1, 1, 1)
    assert plane_widths(65) == (1, 0, 0, 1)
    assert plane_widths(200) == (3, 0, 0, 1)


def test_empty_planes():
    planes = to_planes(np.zeros((0, 3), np.uint8), 20)
    assert [p.shape for p in planes] == [(0, 0), (0, 0), (1, 0), (1, 0)]
    assert from_planes(planes, 20).shape == (0, 3)
