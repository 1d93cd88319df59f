"""ITQ: the quantisation loss never rises, the rotation stays orthogonal, codes are sign(V R)."""

import numpy as np
import pytest

from dshgan.baselines.itq import ITQ
from dshgan.baselines.pcah import PCAH


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((400, 20)) @ rng.standard_normal((20, 20))


def test_quantisation_loss_never_increases_and_drops():
    model = ITQ(16, seed=2).fit(_data())
    history = model.loss_history_
    assert len(history) == 51  # the start and each of the 50 iterations
    assert np.all(np.diff(history) <= 1e-9 * history[0])
    assert history[-1] < history[0]
    # It also beats the unrotated PCA codes (R = I), which ITQ exists to improve on.
    v = PCAH(16).fit(_data()).project(_data())
    assert history[-1] < np.sum((np.where(v >= 0, 1, -1) - v) ** 2)


def test_rotation_is_orthogonal():
    r = ITQ(16, seed=2).fit(_data()).rotation_
    np.testing.assert_allclose(r.T @ r, np.eye(16), atol=1e-10)
    np.testing.assert_allclose(r @ r.T, np.eye(16), atol=1e-10)


def test_codes_are_rotated_pca_signs_and_loss_is_recomputable():
    x = _data()
    model = ITQ(8, seed=0).fit(x)
    pca = PCAH(8).fit(x)
    v = pca.project(x)  # same centring and principal directions as ITQ's
    vr = v @ model.rotation_
    np.testing.assert_array_equal(model.encode(x), (vr > 0).astype(np.uint8))
    assert np.isclose(np.sum((np.where(vr >= 0, 1, -1) - vr) ** 2), model.loss_history_[-1])


def test_bits_limited_by_dimension():
    with pytest.raises(ValueError, match="ITQ cannot give 21 bits"):
        ITQ(21).fit(_data())
    with pytest.raises(ValueError, match="n_iter"):
        ITQ(8, n_iter=-1)
