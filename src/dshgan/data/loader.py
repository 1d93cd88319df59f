"""Images decoded from their files on demand, in parallel worker processes.

Why: a collection of a million photos does not fit in memory as one decoded array (at 224 px
that is ~150 GB). Everything that reads many images (encoding a database, indexing a folder,
streaming an unlabelled pool) goes through ``decode_batches``: a ``torch.utils.data.DataLoader``
over the file paths whose workers decode and resize, so only one batch per worker is ever held.
An image that cannot be decoded is reported in the batch's ``failures`` rather than raised, so the
caller decides whether one bad JPEG among thousands stops the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dshgan.data.errors import DataError
from dshgan.data.heap import return_freed_memory
from dshgan.data.images import decode_image, normalize_size


def default_workers() -> int:
    """One decoding process per CPU core this process may use (0: decode in-process)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores if cores > 1 else 0


class ImageFileDataset(torch.utils.data.Dataset):
    """Item i: (i, decoded uint8 (H, W, 3) image or None, error message or "")."""

    def __init__(self, paths: Sequence[str | os.PathLike], size: tuple[int, int] | None):
        self.paths = [str(p) for p in paths]
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, np.ndarray | None, str]:
        path = self.paths[i]
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            return i, None, f"cannot read image {path}: {exc}"
        try:
            return i, decode_image(data, path, self.size), ""
        except DataError as exc:
            return i, None, str(exc)


def _keep_as_list(items: list) -> list:
    return items


@dataclass
class DecodedBatch:
    """Decoded images of one batch and the positions (into the paths given) they came from."""

    positions: np.ndarray  # int64 (m,)
    images: np.ndarray  # uint8 (m, H, W, 3)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (position, message)


def decode_batches(
    paths: Sequence[str | os.PathLike], size: int | tuple[int, int], batch_size: int = 256,
    workers: int | None = None, progress: bool = False, desc: str = "decode",
    pin_memory: bool = False,
) -> Iterator[DecodedBatch]:
    """Decode ``paths`` in order, ``batch_size`` at a time, resized to ``size``.

    ``workers`` decoding processes (None: ``default_workers()``; 0: in this process). Batches
    come in path order; a batch may hold fewer images than asked when some failed to decode.
    """
    size_hw = normalize_size(size)
    if size_hw is None:
        raise ValueError("decode_batches needs an image size: decoded images must stack")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    workers = default_workers() if workers is None else int(workers)
    workers = min(workers, max(0, (len(paths) + batch_size - 1) // batch_size))
    if workers:
        return_freed_memory()  # before the fork, so the workers share no freed page (heap.py)
    loader = torch.utils.data.DataLoader(
        ImageFileDataset(paths, size_hw), batch_size=batch_size, shuffle=False,
        num_workers=workers, collate_fn=_keep_as_list, pin_memory=False,
        persistent_workers=False, prefetch_factor=2 if workers else None)
    bar = tqdm(total=len(paths), desc=desc, disable=not progress, unit="img")
    for items in loader:
        positions, arrays, failures = [], [], []
        for i, image, error in items:
            if image is None:
                failures.append((i, error))
            else:
                positions.append(i)
                arrays.append(image)
        images = (np.stack(arrays) if arrays
                  else np.zeros((0, size_hw[0], size_hw[1], 3), np.uint8))
        if pin_memory and torch.cuda.is_available():
            images = torch.from_numpy(images).pin_memory().numpy()
        bar.update(len(items))
        yield DecodedBatch(np.asarray(positions, dtype=np.int64), images, failures)
    bar.close()
