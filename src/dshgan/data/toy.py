"""Small synthetic datasets with real, learnable structure, for tests and ``--dry-run``.

Each class owns a colour, a shape (square, disc, ring, cross, triangle, bar) and a stripe
orientation; an image is noisy background plus its class's motif at a random position, so a tiny
network can learn the classes in a few steps while nothing is trivially constant.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image

from dshgan.data.dataset import ImageDataset

_SHAPES = ("square", "disc", "ring", "cross", "triangle", "bar")


def _class_colour(k: int, num_classes: int) -> np.ndarray:
    r, g, b = colorsys.hsv_to_rgb(k / num_classes, 0.85, 0.95)
    return np.array([r, g, b]) * 255.0


def _shape_mask(shape: str, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    c, r = size / 2, size / 2
    if shape == "square":
        return np.ones((size, size), bool)
    if shape == "disc":
        return (yy - c) ** 2 + (xx - c) ** 2 <= r * r
    if shape == "ring":
        d2 = (yy - c) ** 2 + (xx - c) ** 2
        return (d2 <= r * r) & (d2 >= (0.55 * r) ** 2)
    if shape == "cross":
        w = max(1, size // 4)
        return (np.abs(yy - c) <= w) | (np.abs(xx - c) <= w)
    if shape == "triangle":
        return xx >= yy
    return np.abs(yy - c) <= max(1, size // 5)  # bar


def _paint(img: np.ndarray, k: int, num_classes: int, rng: np.random.Generator,
           stripes: bool) -> None:
    """Paint class k's motif (and, for single-label images, its stripes) onto img in place."""
    s = img.shape[0]
    if stripes:
        theta = np.pi * k / num_classes
        yy, xx = np.mgrid[0:s, 0:s]
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / 6.0 + phase)
        img += 18.0 * wave[..., None]
    size = int(rng.integers(max(3, s // 4), max(4, s // 2) + 1))
    y0, x0 = rng.integers(0, s - size + 1, size=2)
    mask = _shape_mask(_SHAPES[k % len(_SHAPES)], size)
    shade = rng.uniform(0.8, 1.0)
    patch = img[y0:y0 + size, x0:x0 + size]
    patch[mask] = _class_colour(k, num_classes) * shade


def make_toy_dataset(n_per_class: int = 12, num_classes: int = 4, image_size: int = 32,
                     seed: int = 0, multi_label: bool = False) -> ImageDataset:
    """``n_per_class * num_classes`` images of ``image_size`` px, class-sorted.

    Single-label: one motif plus class stripes per image. Multi-label: image i always has class
    ``i % num_classes`` and, with probability 1/2 each, one or two more classes (motifs only).
    """
    if n_per_class < 1 or num_classes < 1:
        raise ValueError(f"need n_per_class >= 1 and num_classes >= 1, got {n_per_class}, "
                         f"{num_classes}")
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}")
    rng = np.random.default_rng(seed)
    n = n_per_class * num_classes
    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    labels = np.zeros((n, num_classes), dtype=np.uint8)
    class_names = [f"class_{k}" for k in range(num_classes)]
    names = []
    for i in range(n):
        if multi_label:
            first = i % num_classes
            extra = int(rng.integers(0, 3)) if num_classes > 1 else 0
            others = rng.permutation([k for k in range(num_classes) if k != first])
            classes = [first, *others[:extra].tolist()]
            names.append(f"toy/{i:05d}.png")
        else:
            classes = [i // n_per_class]
            names.append(f"{class_names[classes[0]]}/{i % n_per_class:04d}.png")
        img = rng.uniform(30, 90) + rng.normal(0, 10, (image_size, image_size, 3))
        for k in classes:
            _paint(img, k, num_classes, rng, stripes=not multi_label)
            labels[i, k] = 1
        images[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return ImageDataset(images, labels, class_names, names, multi_label, None)


def make_mosaic_multilabel(dataset: ImageDataset, n: int, seed: int = 0) -> ImageDataset:
    """``n`` 2x2 mosaics of random images of ``dataset``, each tile resized to a quarter.

    A mosaic keeps the original image size and is labelled with the union of its tiles' labels,
    which turns any single-label set into a multi-label one for testing.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if len(dataset) == 0:
        raise ValueError("cannot build mosaics from an empty dataset")
    rng = np.random.default_rng(seed)
    h, w = dataset.image_size
    hs, ws = (h // 2, h - h // 2), (w // 2, w - w // 2)
    images = np.empty((n, h, w, 3), dtype=np.uint8)
    labels = np.zeros((n, dataset.num_classes), dtype=np.uint8)
    for i in range(n):
        picks = rng.integers(0, len(dataset), size=4)
        for t, j in enumerate(picks.tolist()):
            r, c = divmod(t, 2)
            tile = Image.fromarray(dataset.images[j]).resize((ws[c], hs[r]), Image.BILINEAR)
            images[i, r * hs[0]:r * hs[0] + hs[r], c * ws[0]:c * ws[0] + ws[c]] = np.asarray(tile)
            labels[i] |= dataset.labels[j]
    names = [f"mosaic/{i:05d}" for i in range(n)]
    return ImageDataset(images, labels, dataset.class_names, names, True, None)
