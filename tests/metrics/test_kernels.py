import numpy as np

from dshgan.metrics.kernels import harmonic_table, popcount64


def test_popcount_matches_python():
    rng = np.random.default_rng(0)
    values = [0, 1, 2**63, 2**64 - 1] + rng.integers(0, 2**63, 200, dtype=np.uint64).tolist()
    for v in values:
        assert popcount64(np.uint64(v)) == v.bit_count()


def test_harmonic_table_differences_are_accurate():
    n = 200_000
    h = harmonic_table(n)
    assert h[0] == 0.0 and h[1] == 1.0
    exact = sum(1.0 / k for k in range(150_001, 150_011))  # ten small terms, summed directly
    assert abs((h[150_010] - h[150_000]) - exact) < 1e-15
