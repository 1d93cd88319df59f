"""Shared data and the brute-force reference every index test compares against."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest


def random_codes(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    return rng.integers(0, 2, (n, bits), dtype=np.uint8)


def clustered_codes(rng: np.random.Generator, n: int, bits: int, centres: np.ndarray,
                    flip: float = 0.05) -> np.ndarray:
    """Codes near a few centres (bits flipped with probability ``flip``), like real hashes."""
    labels = rng.integers(0, len(centres), n)
    return (centres[labels] ^ (rng.random((n, bits)) < flip)).astype(np.uint8)


def distances(db: np.ndarray, queries: np.ndarray) -> np.ndarray:
    return (queries[:, None, :] != db[None, :, :]).sum(-1)


def brute_knn(db: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int):
    """(distance, id)-ordered k nearest, padded like the index: the reference, ties included."""
    d = distances(db, queries)
    out_d = np.full((len(queries), k), np.iinfo(np.int32).max, np.int64)
    out_i = np.full((len(queries), k), -1, np.int64)
    for q in range(len(queries)):
        order = np.lexsort((ids, d[q]))[:k]
        out_d[q, : len(order)] = d[q, order]
        out_i[q, : len(order)] = ids[order]
    return out_d, out_i


def brute_range(db: np.ndarray, ids: np.ndarray, queries: np.ndarray, radius: int):
    d = distances(db, queries)
    lims, out_d, out_i = [0], [], []
    for q in range(len(queries)):
        hit = np.flatnonzero(d[q] <= radius)
        order = hit[np.lexsort((ids[hit], d[q, hit]))]
        out_d.append(d[q, order])
        out_i.append(ids[order])
        lims.append(lims[-1] + len(order))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return np.array(lims), cat(out_d), cat(out_i)


def assert_same(got, want) -> None:
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def ref() -> SimpleNamespace:
    """The reference helpers (test modules cannot import conftest under importlib mode)."""
    return SimpleNamespace(random_codes=random_codes, clustered_codes=clustered_codes,
                           distances=distances, knn=brute_knn, range=brute_range,
                           same=assert_same)
