"""Validate metric inputs once and turn them into what the kernels read.

Codes become packed uint64 words (XOR + popcount per word); labels become int64 rows: a class id
per row for single-label data, or the multi-hot vector packed into 64-bit bitsets so that
"shares at least one label" is one AND per word.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def _binary(values, name: str) -> np.ndarray:
    """A 2-D {0,1} array as bool; same contract as ``index.packing.as_binary_codes``, but with
    min/max checks instead of ``np.isin`` (which costs as much as the whole mAP kernel)."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, bits), got shape {values.shape}")
    if values.dtype == np.bool_:
        return values
    if np.issubdtype(values.dtype, np.integer):
        ok = values.size == 0 or (values.min() >= 0 and values.max() <= 1)
    elif np.issubdtype(values.dtype, np.floating):
        ok = bool(((values == 0) | (values == 1)).all())
    else:
        raise TypeError(f"{name} must be a bool or {{0,1}} numeric array, got dtype {values.dtype}")
    if not ok:
        raise ValueError(f"{name} must hold only 0 and 1 (binarise with outputs > 0.5 first)")
    return values != 0


class PreparedInputs(NamedTuple):
    query_words: np.ndarray  # uint64 (nq, words)
    db_words: np.ndarray  # uint64 (n, words)
    query_labels: np.ndarray  # int64 (nq, 1) class ids, or (nq, label_words) bitsets
    db_labels: np.ndarray
    multi_label: bool
    bits: int

    @property
    def num_queries(self) -> int:
        return self.query_words.shape[0]

    @property
    def num_database(self) -> int:
        return self.db_words.shape[0]


def _to_words(bits01: np.ndarray) -> np.ndarray:
    """bool (n, m) -> uint64 (n, ceil(m / 64)); zero padding keeps XOR/AND counts exact."""
    packed = np.packbits(bits01, axis=1)
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


def _labels(labels, n: int, name: str) -> tuple[np.ndarray, bool, int]:
    labels = np.asarray(labels)
    if labels.shape[:1] != (n,):
        raise ValueError(f"{name} has {labels.shape[0] if labels.ndim else 0} rows, "
                         f"but its codes have {n}")
    if labels.ndim == 1:
        if labels.dtype == np.bool_ or not (np.issubdtype(labels.dtype, np.integer)
                                            or np.issubdtype(labels.dtype, np.floating)):
            raise TypeError(f"{name} as a 1-D array must hold integer class ids, "
                            f"got dtype {labels.dtype}")
        if np.issubdtype(labels.dtype, np.floating) and not np.all(labels == np.round(labels)):
            raise ValueError(f"{name} as a 1-D array must hold integer class ids")
        return labels.astype(np.int64).reshape(n, 1), False, 0
    if labels.ndim == 2:
        if labels.shape[1] == 0:
            raise ValueError(f"{name} is multi-hot with zero label columns")
        hot = _binary(labels, name)
        return _to_words(hot).view(np.int64), True, labels.shape[1]
    raise ValueError(f"{name} must be class ids (n,) or multi-hot (n, labels), "
                     f"got shape {labels.shape}")


def prepare_inputs(query_codes, query_labels, db_codes, db_labels) -> PreparedInputs:
    """Check shapes, widths and values; raise ValueError/TypeError naming the bad argument."""
    q = _binary(query_codes, "query_codes")
    db = _binary(db_codes, "db_codes")
    if q.shape[1] != db.shape[1]:
        raise ValueError(f"query_codes have {q.shape[1]} bits but db_codes have {db.shape[1]}")
    if q.shape[1] == 0:
        raise ValueError("codes have zero bits")
    if q.shape[0] == 0:
        raise ValueError("query_codes is empty")
    if db.shape[0] == 0:
        raise ValueError("db_codes is empty")
    ql, q_multi, q_cols = _labels(query_labels, q.shape[0], "query_labels")
    dl, d_multi, d_cols = _labels(db_labels, db.shape[0], "db_labels")
    if q_multi != d_multi:
        raise ValueError("query_labels and db_labels must both be class ids (n,) or both "
                         "multi-hot (n, labels)")
    if q_cols != d_cols:
        raise ValueError(f"query_labels have {q_cols} label columns but db_labels have {d_cols}")
    return PreparedInputs(_to_words(q), _to_words(db), ql, dl, q_multi, int(q.shape[1]))


def check_topk(topk, num_database: int) -> int:
    """The cut-off R as a rank count in 1..num_database; ``None`` is the whole database."""
    if topk is None:
        return num_database
    if isinstance(topk, (bool, np.bool_)) or not isinstance(topk, (int, np.integer)):
        raise TypeError(f"topk must be a positive int or None, got {topk!r}")
    if topk < 1:
        raise ValueError(f"topk must be >= 1 (use None for the whole database), got {topk}")
    return int(min(topk, num_database))
