"""Paired bootstrap of a difference in mean per-query scores, pooled over several splits.

Why: two configurations scored on the same validation queries differ by a mean of per-query
differences; how far that mean moves when the queries are redrawn says whether the validation
split can tell the two apart at all (docs/experiments/2026-11-29-cifar10-plus-levers.md,
"Sixth run", is a case where it could not). Queries are resampled with replacement *within*
each split (each seed draws its own split and trains its own nets, so splits are strata), and
the same resample is used for both configurations (pairing), which removes the query-to-query
spread they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class PairedDifference(NamedTuple):
    """Pooled mean of b - a, its bootstrap interval and the share of resamples where b > a."""

    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    share_b_better: float
    num_queries: int


def _check_groups(a_groups: Sequence, b_groups: Sequence) -> list[np.ndarray]:
    if len(a_groups) != len(b_groups) or not a_groups:
        raise ValueError(f"need the same number (>= 1) of splits for both, got {len(a_groups)} "
                         f"and {len(b_groups)}")
    diffs = []
    for i, (a, b) in enumerate(zip(a_groups, b_groups)):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.ndim != 1 or a.shape != b.shape or a.size == 0:
            raise ValueError(f"split {i}: paired scores must be two 1-d arrays of the same "
                             f"non-zero length, got shapes {a.shape} and {b.shape}")
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError(f"split {i}: scores must be finite")
        diffs.append(b - a)
    return diffs


def paired_bootstrap_difference(a_groups: Sequence, b_groups: Sequence,
                                num_resamples: int = 10_000, confidence: float = 0.95,
                                seed: int = 0) -> PairedDifference:
    """Bootstrap the pooled mean of ``b - a`` over per-query scores grouped by split.

    ``a_groups[i]`` and ``b_groups[i]`` hold the scores of the same queries of split ``i`` (in
    the same order). The pooled mean weighs every query equally. The interval is the percentile
    interval at ``confidence``.
    """
    diffs = _check_groups(a_groups, b_groups)
    if num_resamples < 1:
        raise ValueError(f"num_resamples must be >= 1, got {num_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    total = sum(d.size for d in diffs)
    sums = np.zeros(num_resamples)
    for d in diffs:
        picks = rng.integers(0, d.size, size=(num_resamples, d.size))
        sums += d[picks].sum(axis=1)
    means = sums / total
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    pooled_a = float(np.concatenate([np.asarray(a, np.float64) for a in a_groups]).mean())
    pooled_b = float(np.concatenate([np.asarray(b, np.float64) for b in b_groups]).mean())
    return PairedDifference(pooled_a, pooled_b, float(np.concatenate(diffs).mean()), float(low),
                            float(high), float(np.mean(means > 0)), total)
