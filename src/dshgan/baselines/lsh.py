"""Locality-sensitive hashing with random hyperplanes.

Charikar, "Similarity estimation techniques from rounding algorithms", STOC 2002; the LSH
framework of Gionis, Indyk, Motwani, "Similarity search in high dimensions via hashing",
VLDB 1999. Each bit is the sign of a projection of the centred feature onto a random Gaussian
direction, so two items collide on a bit with probability 1 - angle / pi. Data-independent
apart from the mean; any number of bits.
"""

from __future__ import annotations

import numpy as np

from dshgan.baselines.base import HashingBaseline, register_baseline


@register_baseline("lsh")
class LSH(HashingBaseline):
    """Random Gaussian hyperplanes through the training mean."""

    supervised = False

    def _fit(self, x: np.ndarray, y: np.ndarray | None) -> None:
        rng = np.random.default_rng(self.seed)
        self.mean_ = x.mean(axis=0)
        self.projection_ = rng.standard_normal((x.shape[1], self.bits))

    def _project(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) @ self.projection_
