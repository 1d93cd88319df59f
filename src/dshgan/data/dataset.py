"""In-memory datasets: decoded images plus multi-hot labels, the form every other layer reads.

Labels are always multi-hot (n, c) uint8, single-label data included, so that losses, metrics and
protocols need one code path; ``multi_label`` says which relevance rule applies. A row of zeros
is an unlabelled image (``unlabelled/`` folders, list-file lines without a label vector): it is
never drawn as a query or a labelled image, only into the unlabelled pool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def _check_labels(labels: np.ndarray, n: int, multi_label: bool, what: str) -> None:
    if labels.dtype != np.uint8 or labels.ndim != 2:
        raise ValueError(f"{what}.labels must be a uint8 (n, c) multi-hot array, "
                         f"got {labels.dtype} {labels.shape}")
    if labels.shape[0] != n:
        raise ValueError(f"{what}: {labels.shape[0]} label rows for {n} images")
    if labels.size and labels.max() > 1:
        raise ValueError(f"{what}.labels must hold only 0 and 1")
    per_row = labels.sum(axis=1, dtype=np.int64)
    if not multi_label and n and not (per_row <= 1).all():
        bad = int(np.flatnonzero(per_row > 1)[0])
        raise ValueError(f"{what} is single-label but row {bad} has {per_row[bad]} labels set; "
                         "pass multi_label=True for multi-label data")
    if n and not per_row.any():
        raise ValueError(f"{what}: no image has a label (all {n} rows are zero); at least the "
                         "labelled images need their classes")


def _check_common(names: list[str], labels: np.ndarray, class_names: list[str],
                  multi_label: bool, official_split: np.ndarray | None, what: str) -> None:
    n = len(names)
    _check_labels(labels, n, multi_label, what)
    if len(class_names) != labels.shape[1]:
        raise ValueError(f"{what}: {len(class_names)} class names for {labels.shape[1]} label "
                         "columns")
    if len(set(names)) != n:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"{what}: image names must be unique, {name!r} appears twice")
            seen.add(name)
    if len(set(class_names)) != len(class_names):
        raise ValueError(f"{what}: class names must be unique, got {class_names}")
    if official_split is not None and official_split.shape != (n,):
        raise ValueError(f"{what}.official_split has shape {official_split.shape}, expected ({n},)")


def dataset_fingerprint(names: Sequence[str], labels: np.ndarray,
                        class_names: Sequence[str]) -> str:
    """SHA-256 over names, labels and class names: identifies a dataset for a saved split.

    Pixels are left out on purpose, so that the same images read at another size (or only
    catalogued, not decoded) keep the same fingerprint.
    """
    h = hashlib.sha256()
    h.update("\n".join(class_names).encode("utf-8") + b"\0")
    h.update("\n".join(names).encode("utf-8") + b"\0")
    h.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    h.update(str(labels.shape).encode())
    return h.hexdigest()


class _LabelledRows:
    """What a ``Catalogue`` and an ``ImageDataset`` share: names, labels and class names, checked
    alike, and what follows from them alone (so pixels never change a fingerprint)."""

    names: list[str]
    labels: np.ndarray
    class_names: list[str]
    multi_label: bool
    official_split: np.ndarray | None

    def _normalise(self) -> None:
        """Lists and a str array in place of any sequence (the dataclasses are frozen)."""
        object.__setattr__(self, "names", list(self.names))
        object.__setattr__(self, "class_names", list(self.class_names))
        if self.official_split is not None:
            object.__setattr__(self, "official_split", np.asarray(self.official_split, dtype=str))

    def _check_rows(self) -> None:
        _check_common(self.names, self.labels, self.class_names, self.multi_label,
                      self.official_split, type(self).__name__)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_ids(self) -> np.ndarray:
        """int64 (n,) class index per image (-1: unlabelled); ValueError for multi-label data."""
        if self.multi_label:
            raise ValueError("class_ids is defined only for single-label data; use labels "
                             "(multi-hot)")
        ids = self.labels.argmax(axis=1).astype(np.int64)
        ids[~self.labels.any(axis=1)] = -1
        return ids

    @property
    def is_labelled(self) -> np.ndarray:
        """bool (n,): the image has at least one label (False: the unlabelled pool only)."""
        return self.labels.any(axis=1)

    def fingerprint(self) -> str:
        """``dataset_fingerprint`` of the names and labels (pixels not included)."""
        return dataset_fingerprint(self.names, self.labels, self.class_names)


@dataclass(frozen=True, eq=False)
class Catalogue(_LabelledRows):
    """Names and labels without pixels: enough to draw and save a protocol split cheaply."""

    names: list[str]
    labels: np.ndarray
    class_names: list[str]
    multi_label: bool = False
    official_split: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._normalise()
        self._check_rows()

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        kind = "multi-label" if self.multi_label else "single-label"
        return f"Catalogue(n={len(self)}, classes={self.num_classes}, {kind})"



@dataclass(frozen=True, eq=False)
class ImageDataset(_LabelledRows):
    """Decoded RGB images of one size with multi-hot labels.

    images: uint8 (n, H, W, 3); labels: uint8 (n, c), exactly one 1 per row unless multi_label;
    names: one unique relative path or id per image; official_split: the source's own split
    ("train"/"test"...) per image, or None when the source has none.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    names: list[str]
    multi_label: bool = False
    official_split: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        self._normalise()
        img = self.images
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 4 \
                or img.shape[3] != 3:
            raise ValueError("ImageDataset.images must be a uint8 (n, H, W, 3) array, got "
                             f"{getattr(img, 'dtype', type(img))} {getattr(img, 'shape', '')}")
        if img.shape[0] != len(self.names):
            raise ValueError(f"ImageDataset: {img.shape[0]} images for {len(self.names)} names")
        self._check_rows()

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        kind = "multi-label" if self.multi_label else "single-label"
        return (f"ImageDataset(n={len(self)}, size={self.image_size}, "
                f"classes={self.num_classes}, {kind})")

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of every image."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    @property
    def catalogue(self) -> Catalogue:
        return Catalogue(self.names, self.labels, self.class_names, self.multi_label,
                         self.official_split)

    def subset(self, indices: np.ndarray | Sequence[int]) -> ImageDataset:
        """The images at ``indices`` (int positions or a boolean mask), in that order."""
        idx = np.asarray(indices)
        if idx.dtype == np.bool_:
            if idx.shape != (len(self),):
                raise ValueError(f"boolean mask has shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = idx.astype(np.int64)
        elif not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"subset indices must be integers or a boolean mask, got {idx.dtype}")
        if idx.ndim != 1:
            raise ValueError(f"subset indices must be 1-D, got shape {idx.shape}")
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"subset index out of range for a dataset of {len(self)} images")
        names = [self.names[i] for i in idx.tolist()]
        split = None if self.official_split is None else self.official_split[idx]
        return ImageDataset(self.images[idx], self.labels[idx], self.class_names, names,
                            self.multi_label, split)
