"""A dataset whose images stay in their files until they are needed (path-backed).

Why: a folder of a million photos is listed in seconds but would need ~150 GB decoded at 224 px.
``ImageFiles`` holds names and labels only (a :class:`Catalogue`) plus the folder they are
relative to; ``decode`` and ``batches`` read just the images asked for, in worker processes
(``data/loader.py``), at the size the caller needs. The in-memory :class:`ImageDataset` answers
the same two calls, so the training pipeline takes either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.images import resize_images
from dshgan.data.loader import decode_batches


@dataclass
class Decoded:
    """Images decoded for ``kept`` (dataset indices, in the order asked); ``failures`` holds
    (dataset index, message) of those that could not be decoded."""

    kept: np.ndarray
    images: np.ndarray
    failures: list[tuple[int, str]]


@dataclass(frozen=True, eq=False)
class ImageFiles:
    """Names (relative to ``root``) and labels of image files; pixels read on demand."""

    root: Path
    catalogue: Catalogue

    def __len__(self) -> int:
        return len(self.catalogue)

    def __repr__(self) -> str:
        return f"ImageFiles(root={str(self.root)!r}, {self.catalogue!r})"

    def __getattr__(self, name: str):
        # names, labels, class_names, multi_label, official_split, is_labelled, num_classes...
        if name in ("root", "catalogue"):
            raise AttributeError(name)
        return getattr(self.catalogue, name)

    def path(self, i: int) -> Path:
        return self.root / self.catalogue.names[i]

    def batches(self, indices: np.ndarray, size: int, batch_size: int = 256,
                workers: int | None = None, progress: bool = False, desc: str = "decode",
                ) -> Iterator[Decoded]:
        """``indices`` decoded at ``size`` px, ``batch_size`` at a time, in order."""
        indices = np.asarray(indices, dtype=np.int64)
        paths = [self.path(int(i)) for i in indices]
        for batch in decode_batches(paths, size, batch_size, workers, progress, desc):
            yield Decoded(indices[batch.positions], batch.images,
                          [(int(indices[p]), m) for p, m in batch.failures])

    def decode(self, indices: np.ndarray, size: int, workers: int | None = None,
               progress: bool = False, desc: str = "decode") -> Decoded:
        """All of ``indices`` at ``size`` px in one array (for the small labelled parts)."""
        parts = list(self.batches(indices, size, 256, workers, progress, desc))
        if not parts:
            return Decoded(np.zeros(0, np.int64), np.zeros((0, size, size, 3), np.uint8), [])
        return Decoded(np.concatenate([p.kept for p in parts]),
                       np.concatenate([p.images for p in parts]),
                       [f for p in parts for f in p.failures])


def memory_batches(dataset: ImageDataset, indices: np.ndarray, size: int,
                   batch_size: int = 256) -> Iterator[Decoded]:
    """``ImageFiles.batches`` for images already in memory (resized when ``size`` differs)."""
    indices = np.asarray(indices, dtype=np.int64)
    for start in range(0, len(indices), batch_size):
        part = indices[start:start + batch_size]
        yield Decoded(part, resize_images(dataset.images[part], size), [])


def decode_part(data: ImageDataset | ImageFiles, indices: np.ndarray, size: int,
                workers: int | None = None, progress: bool = False,
                desc: str = "decode") -> Decoded:
    """``indices`` of either kind of dataset, decoded at ``size`` px into one array."""
    if isinstance(data, ImageFiles):
        return data.decode(indices, size, workers, progress, desc)
    indices = np.asarray(indices, dtype=np.int64)
    return Decoded(indices, resize_images(data.images[indices], size), [])


def part_batches(data: ImageDataset | ImageFiles, indices: np.ndarray, size: int,
                 batch_size: int = 256, workers: int | None = None, progress: bool = False,
                 desc: str = "decode") -> Iterator[Decoded]:
    """``indices`` of either kind of dataset in batches at ``size`` px: never all at once."""
    if isinstance(data, ImageFiles):
        yield from data.batches(indices, size, batch_size, workers, progress, desc)
    else:
        yield from memory_batches(data, indices, size, batch_size)
