"""PCAH against an independent eigendecomposition of the covariance."""

import numpy as np
import pytest

from dshgan.baselines.pcah import PCAH


def test_matches_sign_of_top_principal_projections():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 12)) @ rng.standard_normal((12, 12)) + 5.0
    bits = 7
    codes = PCAH(bits).fit(x).encode(x)

    centred = x - x.mean(0)
    values, vectors = np.linalg.eigh(np.cov(x, rowvar=False))
    top = vectors[:, np.argsort(values)[::-1][:bits]]
    projections = centred @ top
    # Eigenvectors have no intrinsic sign: allow one flip per bit, then check the convention.
    flips = np.where(((projections > 0) == codes.astype(bool)).mean(0) > 0.5, 1.0, -1.0)
    np.testing.assert_array_equal(codes, (projections * flips > 0).astype(np.uint8))
    rows = np.abs(top).argmax(0)
    np.testing.assert_array_equal(flips, np.sign(top[rows, np.arange(bits)]))


def test_more_bits_than_dimensions_is_refused():
    x = np.random.default_rng(0).standard_normal((100, 8))
    with pytest.raises(ValueError, match="cannot give 9 bits from 8-dimensional"):
        PCAH(9).fit(x)
    with pytest.raises(ValueError, match="at least bits \\+ 1 = 9 training samples"):
        PCAH(8).fit(x[:8])
