"""Encoder: a trained run's hashing net at one code length, taking files, PIL images or arrays.

Why its own class: an index and its queries must be encoded the same way (same net, same code
length, same decoding and resizing as training), and the fingerprint it carries lets an index
refuse anything else.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dshgan.collection.fingerprint import model_fingerprint
from dshgan.data.images import decode_image
from dshgan.model_io import load_trained_model
from dshgan.train.encoding import encode_images, encoding_batch_size
from dshgan.train.runtime import resolve_device

ImageLike = str | os.PathLike | Image.Image | np.ndarray


class Encoder:
    """Images -> {0,1} uint8 codes (n, bits) with one net of a trained run."""

    def __init__(self, net: torch.nn.Module, bits: int, image_size: tuple[int, int],
                 fingerprint: dict, device: torch.device, run_dir: str | None = None,
                 class_names: Sequence[str] = (), batch_size: int | None = None):
        self.net = net
        self.bits = int(bits)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.fingerprint = dict(fingerprint)
        self.device = device
        self.run_dir = run_dir
        self.class_names = list(class_names)
        # Images per forward pass (and per decoded batch): fewer at large input sizes.
        self.batch_size = int(batch_size or encoding_batch_size(net))

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, bits: int | None = None,
                 device: str = "auto") -> Encoder:
        """The run's net for ``bits`` (None: the longest code the run has)."""
        torch_device = resolve_device(device)
        model = load_trained_model(run_dir, torch_device)
        bits = max(model.bits) if bits is None else int(bits)
        net = model.net_for(bits)
        return cls(net, bits, model.image_size,
                   model_fingerprint(run_dir, bits, model.image_size), torch_device,
                   run_dir=str(Path(run_dir).resolve()), class_names=model.class_names)

    def __repr__(self) -> str:
        return (f"Encoder(run={self.fingerprint['run']!r}, bits={self.bits}, "
                f"image_size={self.image_size})")

    def encode(self, images: Sequence[ImageLike] | np.ndarray) -> np.ndarray:
        """Codes of ``images``: a list of file paths, PIL images or uint8 (H, W, 3) arrays, or
        one uint8 (n, H, W, 3) array. Everything is decoded and resized (bilinear) to the run's
        image size exactly as training decoded its images."""
        batch = self.prepare(images)
        if len(batch) == 0:
            return np.zeros((0, self.bits), np.uint8)
        return encode_images(self.net, batch, self.device, batch_size=self.batch_size)[self.bits]

    def prepare(self, images: Sequence[ImageLike] | np.ndarray) -> np.ndarray:
        """uint8 (n, h, w, 3) at the run's image size: what :meth:`encode` feeds the net."""
        h, w = self.image_size
        if isinstance(images, np.ndarray) and images.ndim == 4:
            _check_array(images, "images")
            if images.shape[1:3] == (h, w):
                return images
            images = list(images)
        elif isinstance(images, (str, os.PathLike, Image.Image, np.ndarray)):
            raise TypeError("encode takes a list of images (or one (n, H, W, 3) array); "
                            "wrap a single image in a list")
        out = np.empty((len(images), h, w, 3), np.uint8)
        for i, image in enumerate(images):
            out[i] = self._one(image)
        return out

    def _one(self, image: ImageLike) -> np.ndarray:
        if isinstance(image, (str, os.PathLike)):
            return decode_image(Path(image).read_bytes(), str(image), self.image_size)
        if isinstance(image, np.ndarray):
            _check_array(image[None], "an image array")
            if image.shape[:2] == self.image_size:
                return image
            image = Image.fromarray(image)
        if isinstance(image, Image.Image):
            return _from_pil(image, self.image_size)
        raise TypeError(f"cannot encode a {type(image).__name__}: give a file path, a PIL image "
                        "or a uint8 (H, W, 3) array")


def _check_array(images: np.ndarray, name: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(f"{name} must be uint8 with shape (H, W, 3) per image (RGB), got "
                         f"dtype {images.dtype} and shape {images.shape[1:]}")


def _from_pil(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """The steps of ``decode_image`` after the file is opened: RGB, then bilinear resize."""
    if image.mode != "RGB":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            image = image.convert("RGB")
    if image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.BILINEAR)
    return np.array(image, dtype=np.uint8)
