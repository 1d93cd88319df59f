"""Intra-class diversity: pairwise distances against a loop, a collapsed class at exactly 0."""

import itertools

import numpy as np
import pytest

from dshgan.metrics.generative.diversity import diversity_ratio, mean_pairwise_distance


def test_mean_pairwise_distance_equals_a_loop():
    x = np.random.default_rng(0).normal(size=(9, 4))
    want = np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(x, 2)])
    assert mean_pairwise_distance(x) == pytest.approx(want, rel=1e-12)
    assert mean_pairwise_distance(x[:1]) is None


def test_a_collapsed_class_has_ratio_zero_and_is_the_minimum():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(30, 6))
    real_labels = np.eye(3, dtype=np.uint8)[np.arange(30) % 3]
    synthetic = rng.normal(size=(15, 6)) * 2
    syn_labels = np.eye(3, dtype=np.uint8)[np.arange(15) % 3]
    synthetic[syn_labels[:, 1] > 0] = synthetic[1]  # class 1 collapsed onto one point
    out = diversity_ratio(synthetic, syn_labels, real, real_labels)
    assert out["per_class"][1] == 0.0
    assert out["min"] == 0.0 and out["min_class"] == 1
    for c in (0, 2):
        want = (mean_pairwise_distance(synthetic[syn_labels[:, c] > 0])
                / mean_pairwise_distance(real[real_labels[:, c] > 0]))
        assert out["per_class"][c] == pytest.approx(want)
        assert out["per_class"][c] > 1  # twice the spread of the real features


def test_large_classes_are_subsampled_and_tiny_ones_give_none():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 3))
    labels = np.zeros((200, 2), np.uint8)
    labels[:, 0] = 1
    labels[0, 1] = 1  # one image of class 1: no pair
    out = diversity_ratio(real, labels, real, labels, max_per_class=50)
    assert out["per_class"][1] is None
    assert out["per_class"][0] == pytest.approx(1.0, abs=0.15)  # two subsamples of one cloud
