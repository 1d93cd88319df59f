"""Decoding and stacking images: every reader funnels through here so errors read the same."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image

from dshgan.data.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".tif",
                    ".tiff")

ImageSize = int | tuple[int, int]


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def normalize_size(image_size: ImageSize | None) -> tuple[int, int] | None:
    """int s -> (s, s); (h, w) kept; None kept. Rejects non-positive sizes."""
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        size = (int(image_size[0]), int(image_size[1]))
    else:
        raise TypeError(f"image_size must be an int or a (height, width) pair, got {image_size!r}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"image_size must be positive, got {image_size!r}")
    return size


def decode_image(data: bytes, name: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Encoded bytes -> uint8 (H, W, 3) RGB, resized (bilinear) to ``size`` = (h, w) if given.

    ``name`` is only for the error message: pass the file (and archive member) it came from.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if img.mode == "RGB":
                rgb = img
            else:
                with warnings.catch_warnings():
                    # A palette PNG with transparency warns on convert; RGB is what we want.
                    warnings.simplefilter("ignore", UserWarning)
                    rgb = img.convert("RGB")
            if size is not None and rgb.size != (size[1], size[0]):
                rgb = rgb.resize((size[1], size[0]), Image.BILINEAR)
            # Copy out before the file closes: closing releases the decoded pixels too.
            return np.array(rgb, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot decode image {name}: {exc}") from exc


def stack_images(arrays: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Stack (H, W, 3) arrays into (n, H, W, 3); mixed sizes are an error naming both files."""
    if not arrays:
        raise DataError("no images to stack")
    first = arrays[0].shape
    for arr, name in zip(arrays, names):
        if arr.shape != first:
            raise DataError(
                f"images differ in size: {names[0]} is {first[1]}x{first[0]} but {name} is "
                f"{arr.shape[1]}x{arr.shape[0]} (width x height); pass image_size to resize all")
    return np.stack(arrays)


def resize_images(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """uint8 (n, H, W, 3) resized to ``size`` with the same filter as decoding (PIL bilinear);
    the array itself when it already has that size (no copy)."""
    h, w = normalize_size(size)
    if images.shape[1:3] == (h, w):
        return images
    out = np.empty((len(images), h, w, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR))
    return out
