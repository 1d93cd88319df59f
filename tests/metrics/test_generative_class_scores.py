"""Accuracy per class and average precision per concept against plain loops, ties included."""

import numpy as np
import pytest

from dshgan.metrics.generative.class_scores import (
    accuracy_per_class,
    ap_per_concept,
    average_precision,
)


def naive_ap(scores, relevant):
    """Each relevant item's precision among all items scoring at least as high as it."""
    pos = [i for i in range(len(scores)) if relevant[i]]
    if not pos:
        return None
    total = 0.0
    for i in pos:
        above = [j for j in range(len(scores)) if scores[j] >= scores[i]]
        total += sum(1 for j in above if relevant[j]) / len(above)
    return total / len(pos)


def test_average_precision_equals_the_naive_loop_with_and_without_ties():
    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(1, 25))
        scores = rng.normal(size=n) if trial % 2 else rng.integers(0, 4, n).astype(float)
        relevant = rng.random(n) < 0.4
        want = naive_ap(scores, relevant)
        got = average_precision(scores, relevant)
        assert (got is None) == (want is None)
        if want is not None:
            assert got == pytest.approx(want, abs=1e-12)


def test_known_ap_values():
    assert average_precision([3, 2, 1], [True, False, True]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([1, 1, 1, 1], [True, False, False, False]) == pytest.approx(0.25)


def test_mean_ap_per_concept_equals_the_naive_mean_and_skips_absent_concepts():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(40, 5))
    labels = (rng.random((40, 5)) < 0.3).astype(np.uint8)
    labels[:, 3] = 0
    mean, per = ap_per_concept(scores, labels)
    want = [naive_ap(scores[:, c], labels[:, c] > 0) for c in range(5)]
    assert per[3] is None
    for got, ref in zip(per, want):
        assert got == pytest.approx(ref, abs=1e-12) if ref is not None else got is None
    assert mean == pytest.approx(np.mean([w for w in want if w is not None]))


def test_accuracy_per_class():
    scores = np.array([[2, 1, 0], [0, 3, 1], [1, 0, 0], [0, 0, 5]], float)
    labels = np.eye(3, dtype=np.uint8)[[0, 1, 1, 2]]
    overall, per = accuracy_per_class(scores, labels)
    assert overall == 0.75 and per == [1.0, 0.5, 1.0]
    overall, per = accuracy_per_class(scores[:2], labels[:2])
    assert per == [1.0, 1.0, None]
    assert accuracy_per_class(scores[:0], labels[:0]) == (None, [None, None, None])
    assert ap_per_concept(scores, np.zeros((4, 3))) == (None, [None, None, None])
