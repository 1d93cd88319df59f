"""SDH: beats LSH on clustered data, never raises its objective, DCC reaches an optimum."""

import numpy as np
import pytest

from dshgan.baselines.lsh import LSH
from dshgan.baselines.sdh import SDH


def _clusters(n=400, d=32, classes=4, spread=1.0, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centers = rng.standard_normal((classes, d)) * spread
    x = centers[labels] + rng.standard_normal((n, d))
    return x, np.eye(classes, dtype=np.uint8)[labels]


def _mean_average_precision(query_codes, query_labels, db_codes, db_labels):
    """Whole-database mAP with a stable sort on Hamming distance, as a plain loop."""
    aps = []
    for q in range(len(query_codes)):
        dist = [(int(np.sum(query_codes[q] != db_codes[i])), i) for i in range(len(db_codes))]
        order = [i for _, i in sorted(dist)]
        hits, precisions = 0, []
        for rank, i in enumerate(order, start=1):
            if np.any(query_labels[q] & db_labels[i]):
                hits += 1
                precisions.append(hits / rank)
        aps.append(np.mean(precisions) if precisions else 0.0)
    return float(np.mean(aps))


def test_supervised_sdh_beats_lsh_on_map():
    x, y = _clusters(n=500)
    train, test = slice(0, 400), slice(400, 500)
    maps = {}
    for name, model in [("sdh", SDH(16, n_anchors=200)), ("lsh", LSH(16))]:
        model.fit(x[train], y[train])
        maps[name] = _mean_average_precision(
            model.encode(x[test]), y[test], model.encode(x[train]), y[train]
        )
    assert maps["sdh"] > maps["lsh"] + 0.1, maps


def test_objective_never_increases():
    x, y = _clusters()
    history = SDH(12, n_anchors=100, n_iter=6).fit(x, y).loss_history_
    assert len(history) == 7
    assert np.all(np.diff(history) <= 1e-9 * history[0])
    assert history[-1] < 0.5 * history[0]


def test_dcc_returns_a_coordinatewise_optimum():
    rng = np.random.default_rng(0)
    n, bits, c = 30, 5, 3
    model = SDH(bits, dcc_iter=100)
    w = rng.standard_normal((bits, c))
    q = rng.standard_normal((n, bits))
    b0 = np.where(rng.standard_normal((n, bits)) >= 0, 1.0, -1.0)

    def objective(b):
        return np.sum((b @ w) ** 2) - 2 * np.sum(b * q)

    b = model._dcc(b0, q, w)
    assert set(np.unique(b)) <= {-1.0, 1.0}
    assert objective(b) <= objective(b0)
    # Rows are independent given the other columns, so single-entry flips cover every
    # coordinate (column) move: none may lower the objective.
    for i in range(n):
        for k in range(bits):
            flipped = b.copy()
            flipped[i, k] *= -1
            assert objective(flipped) >= objective(b) - 1e-9


def test_multi_label_training():
    # Items carry one or two of 5 labels; features are the sum of their labels' centres.
    rng = np.random.default_rng(0)
    n, d = 400, 32
    y = np.eye(5, dtype=np.uint8)[rng.integers(0, 5, n)]
    second = rng.random(n) < 0.4
    y[second] |= np.eye(5, dtype=np.uint8)[rng.integers(0, 5, int(second.sum()))]
    x = y @ (rng.standard_normal((5, d)) * 1.0) + rng.standard_normal((n, d))
    maps = {}
    for name, model in [("sdh", SDH(16, n_anchors=200)), ("lsh", LSH(16))]:
        codes = model.fit(x[:300], y[:300]).encode(x)
        maps[name] = _mean_average_precision(codes[300:], y[300:], codes[:300], y[:300])
    assert maps["sdh"] > maps["lsh"] + 0.05, maps


def test_kernel_width_and_anchors():
    x, y = _clusters(n=120)
    model = SDH(8, n_anchors=1000).fit(x, y)  # more anchors than samples: uses every sample once
    assert model.anchors_.shape == (120, 32)
    assert len(np.unique(model.anchors_, axis=0)) == 120
    dists = np.sqrt(((x[:, None, :] - model.anchors_[None]) ** 2).sum(-1))
    assert np.isclose(model.sigma_, dists.mean())
    assert SDH(8, sigma=2.5).fit(x, y).sigma_ == 2.5


@pytest.mark.parametrize(
    "kwargs", [{"n_anchors": 0}, {"lam": 0.0}, {"nu": -1.0}, {"sigma": 0.0}, {"n_iter": 1.5}]
)
def test_bad_hyperparameters_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SDH(8, **kwargs)
