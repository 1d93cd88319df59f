import numpy as np
import pytest

from dshgan.metrics.paired_bootstrap import paired_bootstrap_difference


def test_pooled_means_weigh_every_query_equally():
    r = paired_bootstrap_difference([[0.0, 1.0], [0.5]], [[1.0, 1.0], [0.5]], num_resamples=50)
    assert r.mean_a == pytest.approx(0.5) and r.mean_b == pytest.approx(2.5 / 3)
    assert r.difference == pytest.approx(1 / 3) and r.num_queries == 3


def test_pairing_removes_the_shared_spread():
    a = np.random.default_rng(1).uniform(0, 1, 400)  # queries differ a lot ...
    r = paired_bootstrap_difference([a], [a + 0.01], num_resamples=200)
    # ... but b beats a by exactly 0.01 on every one, so every resample says 0.01
    assert r.low == pytest.approx(0.01) and r.high == pytest.approx(0.01)
    assert r.share_b_better == 1.0


def test_resampling_stays_within_each_split():
    # split 0: one query, b - a = 1; split 1: three queries, b - a = 0. Resampling within splits
    # always keeps one query of split 0, so the pooled mean is exactly 1/4 in every resample
    # (resampling the four queries together would not).
    r = paired_bootstrap_difference([[0.0], [0.2, 0.4, 0.6]], [[1.0], [0.2, 0.4, 0.6]],
                                    num_resamples=500)
    assert r.low == pytest.approx(0.25) and r.high == pytest.approx(0.25)


def test_interval_width_matches_the_standard_error():
    rng = np.random.default_rng(2)
    n = 2000
    a = rng.uniform(0, 1, n)
    b = a + rng.normal(0.02, 0.1, n)
    r = paired_bootstrap_difference([a], [b], num_resamples=4000, confidence=0.95, seed=3)
    se = np.std(b - a) / np.sqrt(n)
    assert r.difference == pytest.approx(np.mean(b - a))
    assert r.high - r.low == pytest.approx(2 * 1.96 * se, rel=0.1)
    assert r.low < r.difference < r.high
    assert r.share_b_better > 0.99  # 0.02 is about 9 standard errors above 0


def test_seeded():
    a, b = [np.arange(10.0)], [np.arange(10.0)[::-1]]
    assert paired_bootstrap_difference(a, b, seed=4) == paired_bootstrap_difference(a, b, seed=4)


@pytest.mark.parametrize("a, b, match", [
    ([], [], "same number"),
    ([[1.0]], [[1.0], [2.0]], "same number"),
    ([[1.0, 2.0]], [[1.0]], "same non-zero length"),
    ([[]], [[]], "same non-zero length"),
    ([[np.nan]], [[1.0]], "finite"),
])
def test_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        paired_bootstrap_difference(a, b)


def test_bad_settings():
    with pytest.raises(ValueError, match="num_resamples"):
        paired_bootstrap_difference([[1.0]], [[1.0]], num_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap_difference([[1.0]], [[1.0]], confidence=1.0)
