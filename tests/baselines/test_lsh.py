"""LSH: random hyperplanes through the mean; bits agree with probability 1 - angle / pi."""

import numpy as np

from dshgan.baselines.lsh import LSH


def test_codes_are_signs_of_seeded_gaussian_projections():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 6)) + 3.0
    model = LSH(bits=10, seed=7).fit(x)
    projection = np.random.default_rng(7).standard_normal((6, 10))
    expected = ((x - x.mean(0)) @ projection > 0).astype(np.uint8)
    np.testing.assert_array_equal(model.encode(x), expected)


def test_bit_agreement_follows_the_angle():
    # Symmetric training data puts the mean exactly at 0, so bits hash the angle alone.
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([np.cos(np.pi / 3), np.sin(np.pi / 3), 0.0])  # 60 degrees apart
    train = np.vstack([np.eye(3), -np.eye(3)])
    codes = LSH(bits=4000, seed=1).fit(train).encode(np.vstack([a, b]))
    agreement = (codes[0] == codes[1]).mean()
    assert abs(agreement - (1 - 1 / 3)) < 0.03  # 5 standard deviations at 4000 bits
