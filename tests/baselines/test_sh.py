"""Spectral hashing: mode selection against brute force, known answers in 1-D, balance."""

import numpy as np

from dshgan.baselines.sh import SpectralHashing


def test_one_dimensional_uniform_data_gives_cosine_modes_1_to_bits():
    t = np.linspace(0.0, 1.0, 1001)[:, None]
    model = SpectralHashing(bits=4).fit(t)
    np.testing.assert_array_equal(model.mode_dims_, [0, 0, 0, 0])
    np.testing.assert_allclose(model.omegas_, np.pi * np.arange(1, 5), rtol=1e-12)
    # Bit k is cos(k pi t) > 0 (the PCA direction of 1-D data is +1, so t keeps its orientation).
    probe = np.array([[0.1], [0.3], [0.6], [0.9]])
    expected = np.cos(np.pi * np.arange(1, 5)[None, :] * probe) > 0
    np.testing.assert_array_equal(model.encode(probe), expected.astype(np.uint8))


def test_modes_are_the_smallest_eigenvalues_over_all_directions():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2000, 3)) * np.array([3.0, 1.7, 0.6])
    bits = 9
    model = SpectralHashing(bits).fit(x)
    proj = (x - model.mean_) @ model.directions_
    spread = proj.max(0) - proj.min(0)
    candidates = sorted(
        ((k * np.pi / spread[d]) ** 2, d, k) for d in range(3) for k in range(1, bits + 1)
    )[:bits]
    np.testing.assert_allclose(model.eigenvalues_, [c[0] for c in candidates], rtol=1e-9)
    np.testing.assert_array_equal(model.mode_dims_, [c[1] for c in candidates])


def test_bits_are_balanced_under_the_uniform_assumption():
    # On the box SH assumes, every cosine mode splits the data in half, also with bits > d.
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (4000, 6)) * np.array([4.0, 3.0, 2.5, 2.0, 1.0, 0.5])
    codes = SpectralHashing(bits=24).fit(x).encode(x)
    assert codes.shape == (4000, 24)
    assert np.all(np.abs(codes.mean(0) - 0.5) < 0.06)


def test_bits_are_balanced_on_average_for_gaussian_data():
    # Higher modes put their positive lobes in the thin tails of a Gaussian, so single bits may
    # be skewed (a known weakness of SH), but none is constant and the average stays near half.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1000, 8)) @ rng.standard_normal((8, 8))
    balance = SpectralHashing(bits=24).fit(x).encode(x).mean(0)
    assert balance.min() > 0.02 and balance.max() < 0.98
    assert abs(balance.mean() - 0.5) < 0.15
