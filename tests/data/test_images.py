import io

import numpy as np
import pytest
from PIL import Image

from dshgan.data.errors import DataError
from dshgan.data.images import decode_image, normalize_size, stack_images
from dshgan.data.writers import encode_image


def _png(arr, mode=None):
    buf = io.BytesIO()
    img = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_decode_png_is_exact_and_grey_and_palette_become_rgb():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(decode_image(_png(arr), "x"), arr)
    grey = decode_image(_png(arr, "L"), "x")
    assert grey.shape == (5, 7, 3) and (grey[..., 0] == grey[..., 2]).all()
    assert decode_image(_png(arr, "P"), "x").shape == (5, 7, 3)
    rgba = np.dstack([arr, np.full((5, 7), 255, np.uint8)])
    assert np.array_equal(decode_image(_png(rgba), "x"), arr)


def test_resize_matches_pillow_bilinear():
    arr = np.random.default_rng(1).integers(0, 256, (10, 20, 3), dtype=np.uint8)
    out = decode_image(_png(arr), "x", (6, 8))
    ref = np.asarray(Image.fromarray(arr).resize((8, 6), Image.BILINEAR))
    assert out.shape == (6, 8, 3) and np.array_equal(out, ref)


@pytest.mark.parametrize("data", [b"not an image", b"", None])
def test_corrupt_images_name_the_file(data):
    if data is None:  # a truncated JPEG: the header parses, the pixels do not
        data = encode_image(np.zeros((32, 32, 3), np.uint8), "jpg")[:100]
    with pytest.raises(DataError, match="cannot decode image some/file.jpg"):
        decode_image(data, "some/file.jpg")


def test_stack_refuses_mixed_sizes_and_names_both_files():
    a, b = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)
    assert stack_images([a, a], ["a", "b"]).shape == (2, 4, 4, 3)
    with pytest.raises(DataError, match=r"first.png is 4x4 but second.png is 5x4.*image_size"):
        stack_images([a, b], ["first.png", "second.png"])


def test_normalize_size():
    assert normalize_size(None) is None
    assert normalize_size(32) == (32, 32)
    assert normalize_size((24, 40)) == (24, 40)
    with pytest.raises(ValueError):
        normalize_size(0)
    with pytest.raises(TypeError):
        normalize_size("32")
    with pytest.raises(TypeError):
        normalize_size(True)
