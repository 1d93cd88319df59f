"""Keeping the N most frequent concepts of a multi-label set (the NUS-WIDE recipe).

Why: tag sets such as NUS-WIDE's 81 concepts are evaluated on their 21 most frequent ones, and
images left with none of those are dropped (they are relevant to no query). Doing it here means
such sets need no preprocessing script: ``data.top_concepts: 21``.
"""

from __future__ import annotations

import numpy as np

from dshgan.data.errors import DataError


def top_concepts(labels: np.ndarray, class_names: list[str], n: int
                 ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(rows kept, their labels on the kept columns, kept names) for the ``n`` most frequent
    columns (ties: the earlier column); rows that had labels but none of the kept ones are
    dropped, unlabelled rows (all zeros from the start) are kept as unlabelled.
    """
    if n < 1:
        raise DataError(f"top_concepts must be >= 1, got {n}")
    c = labels.shape[1]
    if n > c:
        raise DataError(f"top_concepts is {n} but the data has only {c} concepts")
    counts = labels.sum(axis=0, dtype=np.int64)
    order = np.argsort(-counts, kind="stable")[:n]
    columns = np.sort(order)  # keep the source's column order among the kept ones
    kept_labels = labels[:, columns]
    unlabelled = ~labels.any(axis=1)
    rows = np.flatnonzero(kept_labels.any(axis=1) | unlabelled)
    return rows, np.ascontiguousarray(kept_labels[rows]), [class_names[j] for j in columns]
