"""The linear probe: learns separable classes and concepts, is deterministic, and its feature
scaling survives a dimension that does not vary."""

import numpy as np

from dshgan.metrics.generative.class_scores import accuracy_per_class, ap_per_concept
from dshgan.metrics.generative.probe import LinearProbe


def _blobs(rng, n_per=20, c=3, d=5, spread=0.3):
    centres = rng.normal(size=(c, d)) * 3
    y = np.repeat(np.arange(c), n_per)
    return centres[y] + rng.normal(size=(len(y), d)) * spread, np.eye(c, dtype=np.uint8)[y]


def test_softmax_probe_separates_blobs_and_is_deterministic():
    rng = np.random.default_rng(0)
    x, y = _blobs(rng)
    x[:, 2] = 7.0  # a constant dimension: scaled by the floor, not divided by zero
    a = LinearProbe(False).fit(x, y)
    b = LinearProbe(False).fit(x, y)
    np.testing.assert_array_equal(a.scores(x), b.scores(x))
    assert np.isfinite(a.scores(x)).all()
    xt, yt = _blobs(np.random.default_rng(0), n_per=10)  # same centres, fresh noise
    assert accuracy_per_class(a.scores(xt), yt)[0] == 1.0


def test_sigmoid_probe_ranks_each_concept():
    rng = np.random.default_rng(1)
    y = (rng.random((80, 4)) < 0.4).astype(np.uint8)
    x = y * 2.0 + rng.normal(size=y.shape) * 0.3 + rng.normal(size=(80, 1))
    probe = LinearProbe(True).fit(np.c_[x, rng.normal(size=(80, 3))], y)
    mean, per = ap_per_concept(probe.scores(np.c_[x, rng.normal(size=(80, 3))]), y)
    assert mean > 0.95 and all(p > 0.9 for p in per)
    # A softmax probe on the same data cannot rank concepts independently as well.
    assert ap_per_concept(LinearProbe(False).fit(x, y).scores(x), y)[0] < mean
