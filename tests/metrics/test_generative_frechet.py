"""Fréchet distance against exact answers: a sample with itself, diagonal and commuting
Gaussians in closed form, and a general pair against a reference computed another way."""

import numpy as np
import pytest

from dshgan.metrics.generative.frechet import fid, frechet_distance, gaussian_fit


def _random_cov(rng, d, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


def test_fid_of_a_sample_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(50, 8)) * 3 + 1
    assert fid(x, x) == pytest.approx(0.0, abs=1e-9)
    # Fewer samples than dimensions: a singular covariance, still 0.
    y = np.random.default_rng(1).normal(size=(5, 20))
    assert fid(y, y) == pytest.approx(0.0, abs=1e-9)


def test_diagonal_gaussians_match_the_closed_form():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    want = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(want, rel=1e-10)


def test_commuting_non_diagonal_gaussians_match_the_closed_form():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a, b = rng.uniform(0.2, 2, 5), rng.uniform(0.2, 2, 5)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    mu = rng.normal(size=5)
    want = float(np.sum(a + b - 2 * np.sqrt(a * b)))
    assert frechet_distance(mu, s1, mu, s2) == pytest.approx(want, rel=1e-9)


def _reference(mu1, s1, mu2, s2):
    # tr((S1 S2)^1/2) from the eigenvalues of the non-symmetric product itself.
    w = np.linalg.eigvals(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.sum(np.sqrt(np.clip(w.real, 0, None))))


def test_general_gaussians_match_a_reference_computed_differently():
    rng = np.random.default_rng(4)
    for d in (2, 7, 30):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
            _reference(mu1, s1, mu2, s2), rel=1e-8)


def test_one_dimension_and_sample_statistics():
    # N(0, 4) vs N(3, 1): (0-3)^2 + 4 + 1 - 2 * 2 = 10.
    assert frechet_distance(np.zeros(1), [[4.0]], np.full(1, 3.0), [[1.0]]) == pytest.approx(10)
    x = np.random.default_rng(5).normal(size=(40, 3))
    mu, cov = gaussian_fit(x)
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False))
    shifted = x + np.array([1.0, 2.0, 0.0])  # same covariance: FID is |shift|^2
    assert fid(x, shifted) == pytest.approx(5.0, rel=1e-9)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError):
        gaussian_fit(np.zeros((1, 4)))


def test_the_subpackage_loads_on_first_use_only():
    import subprocess
    import sys

    code = ("import sys, dshgan.metrics as m; assert 'torch' not in sys.modules; "
            "assert m.generative.fid is not None")
    subprocess.run([sys.executable, "-c", code], check=True)
