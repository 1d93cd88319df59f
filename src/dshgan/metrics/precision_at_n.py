"""Precision of the top n of the Hamming ranking, for several n at once.

The ranking is the stable one (distance, then database order), as for the default mAP. For an n
larger than the database, the top n is the whole database and precision is relevant / database
size (we divide by the number of items actually returned, not by n).
"""

from __future__ import annotations

import numpy as np

from dshgan.metrics import kernels
from dshgan.metrics.inputs import PreparedInputs, prepare_inputs


def check_ns(ns) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(ns))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"ns must be a non-empty 1-D list of ints, got {ns!r}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"ns must hold ints, got dtype {arr.dtype}")
    if (arr < 1).any():
        raise ValueError(f"every n in ns must be >= 1, got {arr.tolist()}")
    return arr.astype(np.int64)


def precision_at_n_from_prepared(p: PreparedInputs, ns) -> np.ndarray:
    ns = check_ns(ns)
    taken = np.minimum(ns, p.num_database)
    uniq, back = np.unique(taken, return_inverse=True)
    counts = kernels.relevant_in_prefix(p.query_words, p.db_words, p.query_labels, p.db_labels,
                                        p.multi_label, uniq, p.bits)
    return (counts / uniq).mean(axis=0)[back]


def precision_at_n(query_codes, query_labels, db_codes, db_labels, ns) -> np.ndarray:
    """Mean over queries of precision@n for each n in ``ns`` (float64, same order as ``ns``)."""
    check_ns(ns)
    p = prepare_inputs(query_codes, query_labels, db_codes, db_labels)
    return precision_at_n_from_prepared(p, ns)
