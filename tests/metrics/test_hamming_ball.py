import numpy as np
import pytest

from dshgan.metrics import PRCurve, precision_recall_curve, precision_within_radius


def test_toy_exact_values(toy):
    q, ql, db, dl = toy  # distances A1 B0 C1 D2, relevant A and D
    assert precision_within_radius(q, ql, db, dl, radius=0) == 0.0
    assert precision_within_radius(q, ql, db, dl, radius=1) == pytest.approx(1 / 3)
    assert precision_within_radius(q, ql, db, dl) == pytest.approx(0.5)
    assert precision_within_radius(q, ql, db, dl, radius=99) == pytest.approx(0.5)
    curve = precision_recall_curve(q, ql, db, dl)
    assert isinstance(curve, PRCurve)
    np.testing.assert_array_equal(curve.radius, [0, 1, 2])
    np.testing.assert_allclose(curve.precision, [0, 1 / 3, 1 / 2])
    np.testing.assert_allclose(curve.recall, [0, 1 / 2, 1])


def test_empty_ball_counts_zero():
    q = np.array([[0, 0, 0, 0], [1, 1, 1, 1]])
    db = np.array([[1, 1, 1, 1], [1, 1, 1, 0]])
    got = precision_within_radius(q, [0, 0], db, [0, 0], radius=2)
    assert got == pytest.approx(0.5)  # query 0's ball is empty: 0, query 1's holds both: 1


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("bits", [4, 7, 66])
def test_match_loops(ref, multi, bits):
    qc, ql, dc, dl = ref.random_case(bits + 100 * multi, 10, 45, bits, multi)
    curve = precision_recall_curve(qc, ql, dc, dl)
    assert curve.precision.shape == curve.recall.shape == (bits + 1,)
    for r in range(bits + 1):
        prec, rec = ref.ball_loop(qc, ql, dc, dl, r)
        assert curve.precision[r] == pytest.approx(prec.mean(), abs=1e-12)
        assert curve.recall[r] == pytest.approx(rec.mean(), abs=1e-12)
        if r <= 3:
            assert precision_within_radius(qc, ql, dc, dl, radius=r) == pytest.approx(
                prec.mean(), abs=1e-12)


def test_radius_validation(toy):
    with pytest.raises(ValueError, match="radius"):
        precision_within_radius(*toy, radius=-1)
    with pytest.raises(TypeError, match="radius"):
        precision_within_radius(*toy, radius=1.5)
