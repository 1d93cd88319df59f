"""Plain-Python reference metrics (loops over ranked positions) and random tie-heavy data."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest


def relevant(ql, dl) -> bool:
    ql, dl = np.asarray(ql), np.asarray(dl)
    if ql.ndim == 0:
        return bool(ql == dl)
    return bool(np.any((ql > 0) & (dl > 0)))


def distances(q, db) -> list[int]:
    return [int(np.sum(np.asarray(q) != np.asarray(row))) for row in db]


def stable_ranking(q, db) -> list[int]:
    d = distances(q, db)
    return sorted(range(len(db)), key=lambda j: d[j])  # Python's sort is stable


def ap_of_order(order, rel_of, topk) -> float:
    cut = len(order) if topk is None else min(topk, len(order))
    hits, total = 0, 0.0
    for i, j in enumerate(order[:cut], start=1):
        if rel_of[j]:
            hits += 1
            total += hits / i
    return total / hits if hits else 0.0


def ap_loop(q_codes, q_labels, db_codes, db_labels, topk=None) -> np.ndarray:
    out = []
    for q, ql in zip(q_codes, q_labels):
        rel_of = [relevant(ql, dl) for dl in db_labels]
        out.append(ap_of_order(stable_ranking(q, db_codes), rel_of, topk))
    return np.array(out)


def tie_orders(q, db):
    """Every ranking consistent with the distances (all permutations inside each tie)."""
    d = distances(q, db)
    groups = [[j for j in range(len(db)) if d[j] == v] for v in sorted(set(d))]
    for perms in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield [j for p in perms for j in p]


def num_tie_orders(q, db) -> int:
    d = distances(q, db)
    return math.prod(math.factorial(d.count(v)) for v in set(d))


def tie_aware_enum(q_codes, q_labels, db_codes, db_labels, topk=None) -> np.ndarray:
    out = []
    for q, ql in zip(q_codes, q_labels):
        rel_of = [relevant(ql, dl) for dl in db_labels]
        aps = [ap_of_order(o, rel_of, topk) for o in tie_orders(q, db_codes)]
        out.append(sum(aps) / len(aps))
    return np.array(out)


def ball_loop(q_codes, q_labels, db_codes, db_labels, radius):
    """(precision, recall) of the Hamming ball per query; empty ball -> 0, no relevant -> 0."""
    prec, rec = [], []
    for q, ql in zip(q_codes, q_labels):
        d = distances(q, db_codes)
        rel_of = [relevant(ql, dl) for dl in db_labels]
        inside = [j for j in range(len(db_codes)) if d[j] <= radius]
        hits = sum(rel_of[j] for j in inside)
        prec.append(hits / len(inside) if inside else 0.0)
        total = sum(rel_of)
        rec.append(hits / total if total else 0.0)
    return np.array(prec), np.array(rec)


def p_at_n_loop(q_codes, q_labels, db_codes, db_labels, n) -> float:
    vals = []
    for q, ql in zip(q_codes, q_labels):
        order = stable_ranking(q, db_codes)[:n]
        vals.append(sum(relevant(ql, db_labels[j]) for j in order) / len(order))
    return float(np.mean(vals))


def random_case(seed, nq, n, bits, multi, num_classes=3):
    """Tie-heavy random codes; single-label ids or multi-hot rows (some all-zero)."""
    rng = np.random.default_rng(seed)
    qc = rng.integers(0, 2, (nq, bits), dtype=np.uint8)
    dc = rng.integers(0, 2, (n, bits), dtype=np.uint8)
    if multi:
        ql = (rng.random((nq, num_classes)) < 0.35).astype(np.uint8)
        dl = (rng.random((n, num_classes)) < 0.35).astype(np.uint8)
        ql[0] = 0  # a query with no relevant item at all
    else:
        ql = rng.integers(0, num_classes, nq)
        dl = rng.integers(0, num_classes, n)
        ql[0] = num_classes + 7  # a class absent from the database
    return qc, ql, dc, dl


@pytest.fixture
def ref():
    return SimpleNamespace(
        ap_loop=ap_loop, tie_aware_enum=tie_aware_enum, num_tie_orders=num_tie_orders,
        ball_loop=ball_loop, p_at_n_loop=p_at_n_loop, random_case=random_case,
        ap_of_order=ap_of_order, relevant=relevant, distances=distances,
    )


@pytest.fixture
def toy():
    """Hand-checked example: query 00 of class 0; stable ranking B, A, C, D; A and D relevant."""
    q = np.array([[0, 0]])
    ql = np.array([0])
    db = np.array([[0, 1], [0, 0], [1, 0], [1, 1]])  # A (d1), B (d0), C (d1), D (d2)
    dl = np.array([0, 1, 1, 0])
    return q, ql, db, dl
