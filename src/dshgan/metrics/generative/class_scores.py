"""Scores of a classifier's outputs against the labels asked for: accuracy per class
(single-label) and average precision per concept (multi-label), each with its mean.

Why AP per concept for multi-label data: an image asked for several concepts has no single
right answer for an argmax, while ranking all images by the score of one concept and asking
whether those asked for it come first does not depend on a threshold.
"""

from __future__ import annotations

import numpy as np


def accuracy_per_class(scores: np.ndarray, labels: np.ndarray) -> tuple[float | None, list]:
    """(overall accuracy or None without images, accuracy of each class or None where it has
    no image); ``labels``
    one-hot (n, C) or class ids (n,), ``scores`` (n, C) with the predicted class at the argmax."""
    scores = np.asarray(scores)
    truth = np.asarray(labels)
    truth = truth.argmax(axis=1) if truth.ndim == 2 else truth.astype(np.int64)
    hit = scores.argmax(axis=1) == truth
    per = [float(hit[truth == c].mean()) if (truth == c).any() else None
           for c in range(scores.shape[1])]
    return (float(hit.mean()) if len(hit) else None), per


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float | None:
    """AP of ranking by ``scores`` (descending) for the ``relevant`` items; None if there are
    none. Ties count as in scikit-learn: each relevant item gets the precision among all items
    scoring at least as high as it."""
    scores = np.asarray(scores, np.float64)
    relevant = np.asarray(relevant, bool)
    n_rel = int(relevant.sum())
    if n_rel == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    s, r = scores[order], relevant[order]
    hits = np.cumsum(r)
    # The last position of each run of equal scores: precision there holds for the whole run.
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    run_end = np.repeat(last, np.diff(np.r_[-1, last]))
    precision = hits[run_end] / (run_end + 1)
    return float(precision[r].sum() / n_rel)


def ap_per_concept(scores: np.ndarray, labels: np.ndarray) -> tuple[float | None, list]:
    """(mean over concepts that occur or None if none does, AP of each concept or None where
    none is relevant)."""
    labels = np.asarray(labels) > 0
    per = [average_precision(scores[:, c], labels[:, c]) for c in range(labels.shape[1])]
    known = [a for a in per if a is not None]
    return (float(np.mean(known)) if known else None), per
