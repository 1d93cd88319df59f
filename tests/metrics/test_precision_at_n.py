import numpy as np
import pytest

from dshgan.metrics import precision_at_n


def test_toy_exact_values(toy):
    # stable ranking B A C D with A, D relevant; n beyond the database divides by its size
    got = precision_at_n(*toy, ns=[1, 2, 3, 4, 10])
    np.testing.assert_allclose(got, [0, 1 / 2, 1 / 3, 1 / 2, 1 / 2])


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("bits", [4, 8, 65])
def test_matches_loop(ref, multi, bits):
    qc, ql, dc, dl = ref.random_case(bits + 7 * multi, 11, 60, bits, multi)
    ns = [5, 1, 17, 60, 3, 17, 200, 33, 2]  # unsorted, repeated, beyond the database
    got = precision_at_n(qc, ql, dc, dl, ns)
    want = [ref.p_at_n_loop(qc, ql, dc, dl, n) for n in ns]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_every_cutoff_in_one_call(ref):
    qc, ql, dc, dl = ref.random_case(9, 6, 40, 5, False)
    ns = np.arange(1, 41)
    want = [ref.p_at_n_loop(qc, ql, dc, dl, n) for n in ns]
    np.testing.assert_allclose(precision_at_n(qc, ql, dc, dl, ns), want, atol=1e-12)


@pytest.mark.parametrize("ns,err", [([0, 5], ValueError), ([], ValueError),
                                    ([1.5], TypeError), ([[1, 2]], ValueError)])
def test_bad_ns(toy, ns, err):
    with pytest.raises(err, match="ns"):
        precision_at_n(*toy, ns=ns)
