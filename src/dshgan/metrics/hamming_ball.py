"""Metrics of Hamming-ball lookup: precision within radius r and the PR curve over radii.

A ball of radius r holds every database item at distance <= r (inclusive), so ties never matter.
Conventions, per query, before averaging over all queries:
- an empty ball has precision 0 (the usual hash-lookup convention: nothing returned, nothing
  right), so a code with no neighbours is penalised rather than dropped;
- a query with no relevant item in the database has recall 0 at every radius and stays in the
  mean, as for AP.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dshgan.metrics import kernels
from dshgan.metrics.inputs import PreparedInputs, prepare_inputs


class PRCurve(NamedTuple):
    radius: np.ndarray  # int64 (bits + 1,): 0..bits
    precision: np.ndarray  # float64, mean over queries of precision of the ball of that radius
    recall: np.ndarray  # float64, mean over queries of recall of that ball


def histograms(p: PreparedInputs) -> tuple[np.ndarray, np.ndarray]:
    """Items and relevant items at each distance, (nq, bits + 1) each."""
    return kernels.distance_histograms(p.query_words, p.db_words, p.query_labels, p.db_labels,
                                       p.multi_label, p.bits)


def _ball_precision(hist: np.ndarray, rel: np.ndarray) -> np.ndarray:
    size = np.cumsum(hist, axis=1)
    hit = np.cumsum(rel, axis=1)
    return np.divide(hit, size, out=np.zeros(hit.shape), where=size > 0)


def _check_radius(radius) -> int:
    if isinstance(radius, (bool, np.bool_)) or not isinstance(radius, (int, np.integer)):
        raise TypeError(f"radius must be a non-negative int, got {radius!r}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    return int(radius)


def precision_within_radius_from_histograms(hist, rel, radius: int) -> float:
    r = min(_check_radius(radius), hist.shape[1] - 1)
    return float(np.mean(_ball_precision(hist, rel)[:, r]))


def pr_curve_from_histograms(hist: np.ndarray, rel: np.ndarray) -> PRCurve:
    total = rel.sum(axis=1, keepdims=True)
    hit = np.cumsum(rel, axis=1)
    recall = np.divide(hit, total, out=np.zeros(hit.shape), where=total > 0)
    return PRCurve(np.arange(hist.shape[1], dtype=np.int64),
                   _ball_precision(hist, rel).mean(axis=0), recall.mean(axis=0))


def precision_within_radius(query_codes, query_labels, db_codes, db_labels,
                            radius: int = 2) -> float:
    """Mean over queries of the precision of the Hamming ball of ``radius`` (empty ball: 0)."""
    _check_radius(radius)
    p = prepare_inputs(query_codes, query_labels, db_codes, db_labels)
    return precision_within_radius_from_histograms(*histograms(p), radius)


def precision_recall_curve(query_codes, query_labels, db_codes, db_labels) -> PRCurve:
    """Precision and recall of the Hamming ball of every radius 0..bits, averaged over queries."""
    p = prepare_inputs(query_codes, query_labels, db_codes, db_labels)
    return pr_curve_from_histograms(*histograms(p))
