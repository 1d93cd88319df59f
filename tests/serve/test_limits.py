"""Upload decoding limits: formats, pixel bombs (from the header, before decoding), k and radius
ranges; each refusal with its HTTP status."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from dshgan.serve.limits import MAX_K, Refused, check_k, check_radius, open_image


def encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels and holds none: what a bomb's header says."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP", "PPM", "TIFF"])
def test_accepted_formats_decode_to_the_same_pixels(fmt):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 10, 3), np.uint8)
    image = open_image(encoded(Image.fromarray(pixels), fmt))
    assert image.size == (10, 12)
    if fmt in ("PNG", "BMP", "PPM", "TIFF"):  # lossless
        assert (np.array(image.convert("RGB")) == pixels).all()


@pytest.mark.parametrize("data,words", [
    (b"", "empty"), (b"GIF89a but not really", "not an image"), (b"\0" * 100, "not an image")])
def test_what_is_not_an_image_is_415(data, words):
    with pytest.raises(Refused) as err:
        open_image(data)
    assert err.value.status == 415 and words in err.value.message


@pytest.mark.parametrize("fmt", ["PCX", "TGA", "ICO"])
def test_formats_training_does_not_read_are_415(fmt):
    with pytest.raises(Refused) as err:
        open_image(encoded(Image.new("RGB", (16, 16)), fmt))
    assert err.value.status == 415 and fmt in err.value.message


def test_pixel_limit_is_checked_from_the_header_before_decoding():
    with pytest.raises(Refused) as err:  # 12,000 x 12,000: over our limit, header only
        open_image(png_header(12_000, 12_000), max_pixels=10_000)
    assert err.value.status == 413 and "144,000,000 pixels" in err.value.message
    with pytest.raises(Refused) as err:  # beyond twice Pillow's own limit: refused in open
        open_image(png_header(30_000, 30_000), max_pixels=None)
    assert err.value.status == 413
    with pytest.raises(Refused) as err:  # at the default limit, Pillow's (about 89 MP)
        open_image(png_header(10_000, 9_000))
    assert err.value.status == 413
    small = encoded(Image.new("RGB", (100, 100)), "PNG")
    assert open_image(small, max_pixels=10_000).size == (100, 100)
    with pytest.raises(Refused) as err:
        open_image(small, max_pixels=9_999)
    assert err.value.status == 413


def test_a_truncated_file_is_415():
    data = encoded(Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3),
                                                                     np.uint8)), "PNG")
    with pytest.raises(Refused) as err:
        open_image(data[: len(data) // 2])
    assert err.value.status == 415 and "could not be decoded" in err.value.message


def test_k_and_radius_ranges():
    assert check_k(1) == 1 and check_k(MAX_K) == MAX_K
    for bad in (0, MAX_K + 1, -3, 2.5, True):
        with pytest.raises(Refused) as err:
            check_k(bad)
        assert err.value.status == 422
    assert check_radius(None, 48) is None and check_radius(0, 48) == 0
    assert check_radius(48, 48) == 48
    for bad in (-1, 49, 1.5, False):
        with pytest.raises(Refused) as err:
            check_radius(bad, 48)
        assert err.value.status == 422
