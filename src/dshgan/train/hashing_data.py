"""Everything stage 2 (and the deep baselines) learn and validate from, as one object."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class HashingData:
    """Images are uint8 (n, H, W, 3); labels {0,1} (n, classes).

    ``val_database`` (images, labels) is what validation queries rank against; None means the
    training set. ``unlabelled`` is the unlabelled pool (consistency term, self-training): it may
    be a large array-like, so it is only ever indexed by a batch of rows (``pool[int_array]``)
    and never copied whole.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    multi_label: bool = False
    val_database: tuple[np.ndarray, np.ndarray] | None = None
    unlabelled: Any = None

    @property
    def num_classes(self) -> int:
        return self.train_labels.shape[1]

    @property
    def validation_database(self) -> tuple[np.ndarray, np.ndarray]:
        if self.val_database is None:
            return self.train_images, self.train_labels
        return self.val_database

    @property
    def has_unlabelled(self) -> bool:
        return self.unlabelled is not None and len(self.unlabelled) > 0

    def with_unlabelled(self, pool) -> HashingData:
        return dataclasses.replace(self, unlabelled=pool)

    def with_pseudo_labels(self, rows: np.ndarray, labels: np.ndarray) -> HashingData:
        """The pool's ``rows`` join the training set with ``labels``; validation keeps ranking
        against the truly labelled database, so every self-training round is scored alike."""
        return dataclasses.replace(
            self, val_database=self.validation_database,
            train_images=np.concatenate([self.train_images, self.unlabelled[rows]]),
            train_labels=np.concatenate([self.train_labels,
                                         labels.astype(self.train_labels.dtype)]))
