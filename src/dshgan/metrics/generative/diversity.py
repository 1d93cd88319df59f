"""Intra-class diversity: the mean pairwise feature distance of one class's synthetic images,
as a ratio to the same for its real images. Per class, so one collapsed class shows (its ratio
near 0) even when the others are fine; FID, one number for all classes, can hide it.

The mean over pairs does not depend on how many images there are (in expectation), so a class
with more real than synthetic images is still compared fairly. Distances are computed by
differences, not from a Gram matrix, so identical images are exactly 0 apart.
"""

from __future__ import annotations

import numpy as np

MAX_PER_CLASS = 500  # images drawn (seeded) from a larger class: ~125,000 pairs is plenty


def mean_pairwise_distance(features: np.ndarray) -> float | None:
    """Mean Euclidean distance over all pairs of rows; None for fewer than two rows."""
    x = np.asarray(features, np.float64)
    n = len(x)
    if n < 2:
        return None
    total = sum(float(np.linalg.norm(x[i + 1:] - x[i], axis=1).sum()) for i in range(n - 1))
    return total / (n * (n - 1) / 2)


def _members(labels: np.ndarray, c: int, rng: np.random.Generator, limit: int) -> np.ndarray:
    idx = np.flatnonzero(np.asarray(labels)[:, c] > 0)
    if len(idx) > limit:
        idx = np.sort(rng.choice(idx, limit, replace=False))
    return idx


def diversity_ratio(synthetic_feats: np.ndarray, synthetic_labels: np.ndarray,
                    real_feats: np.ndarray, real_labels: np.ndarray, seed: int = 0,
                    max_per_class: int = MAX_PER_CLASS) -> dict:
    """Per class (column of the multi-hot labels): synthetic and real mean pairwise distance
    and their ratio (None where either side has fewer than two images), plus the smallest
    ratio and its class."""
    rng = np.random.default_rng(seed)
    synthetic, real, ratio = [], [], []
    for c in range(np.asarray(real_labels).shape[1]):
        s = mean_pairwise_distance(synthetic_feats[_members(synthetic_labels, c, rng,
                                                            max_per_class)])
        r = mean_pairwise_distance(real_feats[_members(real_labels, c, rng, max_per_class)])
        synthetic.append(s)
        real.append(r)
        ratio.append(s / r if s is not None and r else None)
    known = [(v, c) for c, v in enumerate(ratio) if v is not None]
    low = min(known) if known else (None, None)
    return {"per_class": ratio, "synthetic": synthetic, "real": real,
            "min": low[0], "min_class": low[1],
            "mean": float(np.mean([v for v, _ in known])) if known else None}
