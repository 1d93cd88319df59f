"""Mean average precision of Hamming ranking, with the stable and the tie-aware tie conventions.

Ranking: database items by Hamming distance to the query. Relevance: same class id (single-label)
or at least one shared label (multi-hot). AP at cut-off R (DeepHash / HashNet convention):

    AP@R = (1 / K_R) * sum_{i <= R, item i relevant} precision@i,
    K_R  = number of relevant items within the top R,

and AP@R = 0 when K_R = 0 (the query stays in the mean). ``topk=None`` is R = database size; a
``topk`` larger than the database is the whole database.

``tie_aware=False`` orders a tie by database position (a stable sort). ``tie_aware=True`` returns
E[AP@R] over uniformly random orders within every group of tied distances (McSherry & Najork,
"Computing information retrieval performance measures efficiently in the presence of tied scores",
ECIR 2008), which no ordering choice can change. Without a cut-off, K is fixed and the expectation
is their closed form: a tie group of n items with r relevant, after s items and r_b relevant ones,
contributes sum_{p=1..n} [r/n (r_b + 1) + (p - 1) r (r - 1) / (n (n - 1))] / (s + p). When the
cut-off splits a group (t of its n items fall inside), the number X of its relevant items inside
is hypergeometric; given X = x the t places hold x relevant items uniformly, and the earlier
groups' sum A is independent of that group, so

    E[AP@R] = E[A] * E[1 / (r_b + X)] + sum_x P(X = x) * E[Y | X = x] / (r_b + x),

with 1 / 0 read as 0. Both are computed exactly (pmf by its ratio recurrence, normalised),
per query in O(bits + min(r, t)) from the distance histogram.
"""

from __future__ import annotations

import numpy as np

from dshgan.metrics import kernels
from dshgan.metrics.inputs import PreparedInputs, check_topk, prepare_inputs


def _ap_from_prepared(p: PreparedInputs, topk, tie_aware: bool, hists=None) -> np.ndarray:
    cutoff = check_topk(topk, p.num_database)
    if tie_aware:
        if hists is None:
            hists = kernels.distance_histograms(p.query_words, p.db_words, p.query_labels,
                                                p.db_labels, p.multi_label, p.bits)
        h = kernels.harmonic_table(p.num_database)
        return kernels.average_precision_tie_aware(hists[0], hists[1], cutoff, h)
    return kernels.average_precision_stable(p.query_words, p.db_words, p.query_labels,
                                            p.db_labels, p.multi_label, cutoff, p.bits)


def average_precisions(query_codes, query_labels, db_codes, db_labels, topk: int | None = None,
                       tie_aware: bool = False) -> np.ndarray:
    """Per-query AP@topk, float64 of shape (num_queries,); conventions in the module docstring."""
    p = prepare_inputs(query_codes, query_labels, db_codes, db_labels)
    return _ap_from_prepared(p, topk, bool(tie_aware))


def mean_average_precision(query_codes, query_labels, db_codes, db_labels,
                           topk: int | None = None, tie_aware: bool = False) -> float:
    """mAP@topk over all queries (queries without a relevant item in the top R count as 0)."""
    return float(np.mean(average_precisions(query_codes, query_labels, db_codes, db_labels,
                                            topk=topk, tie_aware=tie_aware)))


def leave_one_out_average_precisions(codes, labels, topk: int | None = None,
                                     tie_aware: bool = False) -> np.ndarray:
    """Per-item AP of each code as a query against all the other codes of the same set.

    Why: a validation split ranked against the training images scores how well the net separates
    images it was trained on; ranked against itself (each image left out of its own database) it
    scores unseen images only, like the test protocol. One call per item, so meant for small sets
    (a validation split of hundreds to a few thousand images).
    """
    codes, labels = np.asarray(codes), np.asarray(labels)
    if len(codes) != len(labels):
        raise ValueError(f"{len(codes)} codes but {len(labels)} labels")
    if len(codes) < 2:
        raise ValueError(f"leave-one-out needs at least 2 items, got {len(codes)}")
    keep = np.ones(len(codes), dtype=bool)
    out = np.empty(len(codes))
    for i in range(len(codes)):
        keep[i] = False
        out[i] = average_precisions(codes[i:i + 1], labels[i:i + 1], codes[keep], labels[keep],
                                    topk=topk, tie_aware=tie_aware)[0]
        keep[i] = True
    return out
