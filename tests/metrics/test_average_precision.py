import math
from fractions import Fraction

import numpy as np
import pytest

from dshgan.metrics import average_precisions, mean_average_precision


def test_toy_exact_values(toy):
    q, ql, db, dl = toy
    # stable ranking B(0) A(1) C(0) D(1): relevant at ranks 2 and 4
    assert average_precisions(q, ql, db, dl)[0] == pytest.approx(0.5, abs=1e-15)
    assert average_precisions(q, ql, db, dl, topk=1)[0] == 0.0
    assert average_precisions(q, ql, db, dl, topk=2)[0] == pytest.approx(0.5, abs=1e-15)
    assert average_precisions(q, ql, db, dl, topk=3)[0] == pytest.approx(0.5, abs=1e-15)
    # tie {A, C} at distance 1: orders A,C -> 1/2 ; C,A -> (1/3 + 2/4) / 2 = 5/12

    def ta(k):
        return average_precisions(q, ql, db, dl, topk=k, tie_aware=True)[0]

    assert ta(None) == pytest.approx(11 / 24, abs=1e-15)
    assert ta(2) == pytest.approx(1 / 4, abs=1e-15)  # A,C -> 1/2 ; C,A -> nothing relevant
    assert ta(3) == pytest.approx(5 / 12, abs=1e-15)  # A,C -> 1/2 ; C,A -> 1/3
    assert ta(1) == 0.0


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("bits", [4, 6, 8])
@pytest.mark.parametrize("topk", [None, 1, 7, 25, 1000])
def test_stable_ap_matches_loop(ref, multi, bits, topk):
    qc, ql, dc, dl = ref.random_case(bits * 10 + multi, 12, 50, bits, multi)
    got = average_precisions(qc, ql, dc, dl, topk=topk)
    want = ref.ap_loop(qc, ql, dc, dl, topk)
    assert got.dtype == np.float64 and got.shape == (12,)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert got[0] == 0.0  # the query without relevant items counts 0 ...
    assert mean_average_precision(qc, ql, dc, dl, topk=topk) == pytest.approx(want.mean(),
                                                                               abs=1e-12)


@pytest.mark.parametrize("bits,num_classes", [(64, 5), (70, 3), (130, 70)])
def test_multi_word_codes_and_labels(ref, bits, num_classes):
    for multi in (False, True):
        qc, ql, dc, dl = ref.random_case(bits, 6, 40, bits, multi, num_classes)
        for topk in (None, 9):
            np.testing.assert_allclose(average_precisions(qc, ql, dc, dl, topk=topk),
                                       ref.ap_loop(qc, ql, dc, dl, topk), atol=1e-12)


def _tiny_cases(ref):
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        bits = int(rng.integers(2, 4))
        n = int(rng.integers(3, 9))
        multi = bool(seed % 2)
        case = ref.random_case(seed, 3, n, bits, multi)
        if all(ref.num_tie_orders(q, case[2]) <= 5000 for q in case[0]):
            yield case


def test_tie_aware_equals_enumeration_of_tie_orders(ref):
    checked = 0
    for qc, ql, dc, dl in _tiny_cases(ref):
        n = len(dc)
        for topk in sorted({None, 1, 2, 3, n - 1, n, n + 3} - {0}, key=lambda k: k or 10**9):
            got = average_precisions(qc, ql, dc, dl, topk=topk, tie_aware=True)
            want = ref.tie_aware_enum(qc, ql, dc, dl, topk)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
            checked += 1
    assert checked > 100


def test_tie_aware_equals_stable_without_ties(ref):
    rng = np.random.default_rng(3)
    bits = 8
    for _ in range(5):
        q = rng.integers(0, 2, (1, bits))
        flips = rng.permutation(bits + 1)  # database item j at distance flips[j]: no two tie
        db = np.repeat(q, bits + 1, axis=0)
        for j, k in enumerate(flips):
            db[j, rng.permutation(bits)[:k]] ^= 1
        dl = rng.integers(0, 2, bits + 1)
        ql = np.array([1])
        for topk in (None, 1, 4, 9):
            a = average_precisions(q, ql, db, dl, topk=topk)
            b = average_precisions(q, ql, db, dl, topk=topk, tie_aware=True)
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)


def test_tie_aware_ignores_database_order_but_stable_does_not(ref):
    qc, ql, dc, dl = ref.random_case(5, 20, 200, 5, False)
    perm = np.random.default_rng(0).permutation(len(dc))
    for topk in (None, 30):
        a = average_precisions(qc, ql, dc, dl, topk=topk, tie_aware=True)
        b = average_precisions(qc, ql, dc[perm], dl[perm], topk=topk, tie_aware=True)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        s1 = average_precisions(qc, ql, dc, dl, topk=topk)
        s2 = average_precisions(qc, ql, dc[perm], dl[perm], topk=topk)
        assert np.abs(s1 - s2).max() > 1e-3


def _tie_aware_direct(groups, topk):
    """E[AP@topk] for one query from (size, relevant) tie groups: direct sums, exact pmf."""
    def cond_sum(s, rb, t, x):  # E[sum of precisions of relevant in t slots | x relevant]
        if x == 0:
            return 0.0
        return sum((x / t * (rb + 1) + ((p - 1) * x * (x - 1) / (t * (t - 1)) if t > 1 else 0))
                   / (s + p) for p in range(1, t + 1))
    s = rb = 0
    ea = 0.0
    for c, r in groups:
        if s + c <= topk:
            ea += cond_sum(s, rb, c, r)
            s, rb = s + c, rb + r
            continue
        t = topk - s
        total = math.comb(c, t)
        out = 0.0
        for x in range(max(0, t - (c - r)), min(r, t) + 1):
            pmf = float(Fraction(math.comb(r, x) * math.comb(c - r, t - x), total))
            if rb + x:
                out += pmf * (ea + cond_sum(s, rb, t, x)) / (rb + x)
        return out
    return ea / rb if rb else 0.0


def test_tie_aware_large_groups_match_direct_formula():
    # one query at distance 0/1/2 from three big blocks of identical codes: huge ties whose
    # hypergeometric pmf underflows far from its mode
    sizes, rels = [1200, 3000, 800], [300, 1700, 100]
    db = np.concatenate([np.tile([[0, 0]], (1200, 1)), np.tile([[0, 1]], (3000, 1)),
                         np.tile([[1, 1]], (800, 1))])
    dl = np.concatenate([np.r_[np.ones(r), np.zeros(c - r)] for c, r in zip(sizes, rels)])
    dl = dl.astype(int)
    q, ql = np.array([[0, 0]]), np.array([1])
    for topk in (500, 1200, 2900, 4199, 5000):
        got = average_precisions(q, ql, db, dl, topk=topk, tie_aware=True)[0]
        assert got == pytest.approx(_tie_aware_direct(list(zip(sizes, rels)), topk), abs=1e-12)


def test_leave_one_out_exact_values():
    from dshgan.metrics import leave_one_out_average_precisions

    codes = np.array([[0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1]], np.uint8)
    # same-class twins: each item's only relevant neighbour is ranked first
    assert leave_one_out_average_precisions(codes, [0, 0, 1, 1]).tolist() == [1.0] * 4
    # the twin is of the other class; the relevant item ties with an irrelevant one at distance
    # 3, in database order: second for items 0 and 2, third for items 1 and 3
    labels = [0, 1, 0, 1]
    np.testing.assert_allclose(leave_one_out_average_precisions(codes, labels),
                               [1 / 2, 1 / 3, 1 / 2, 1 / 3], atol=1e-15)
    np.testing.assert_allclose(leave_one_out_average_precisions(codes, labels, tie_aware=True),
                               [5 / 12] * 4, atol=1e-15)


@pytest.mark.parametrize("multi", [False, True])
def test_leave_one_out_matches_loop_without_the_item(ref, multi):
    from dshgan.metrics import leave_one_out_average_precisions

    rng = np.random.default_rng(5)
    codes = rng.integers(0, 2, (30, 6)).astype(np.uint8)
    labels = (rng.integers(0, 2, (30, 3)) if multi else rng.integers(0, 4, 30))
    expected = [ref.ap_loop(codes[i:i + 1], labels[i:i + 1], np.delete(codes, i, 0),
                            np.delete(labels, i, 0))[0] for i in range(30)]
    np.testing.assert_allclose(leave_one_out_average_precisions(codes, labels), expected,
                               atol=1e-12)


def test_leave_one_out_rejects_bad_sizes():
    from dshgan.metrics import leave_one_out_average_precisions

    with pytest.raises(ValueError, match="3 codes but 2 labels"):
        leave_one_out_average_precisions(np.zeros((3, 4), np.uint8), [0, 1])
    with pytest.raises(ValueError, match="at least 2"):
        leave_one_out_average_precisions(np.zeros((1, 4), np.uint8), [0])
