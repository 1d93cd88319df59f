"""All retrieval metrics in one call, as plain JSON-ready python types, with their conventions.

Results from different papers disagree mostly through unstated conventions; every metrics.json
therefore carries ``metric_conventions(topk)`` next to the numbers.
"""

from __future__ import annotations

import numpy as np

from dshgan.metrics.average_precision import _ap_from_prepared
from dshgan.metrics.hamming_ball import (
    histograms,
    pr_curve_from_histograms,
    precision_within_radius_from_histograms,
)
from dshgan.metrics.inputs import check_topk, prepare_inputs
from dshgan.metrics.precision_at_n import check_ns, precision_at_n_from_prepared

DEFAULT_NS = tuple(range(100, 1001, 100))  # top-n curve of the DSH-GAN paper's figures


def metric_conventions(topk: int | None) -> dict:
    """The conventions behind :func:`evaluate`'s numbers, in words."""
    cutoff = "the whole database" if topk is None else f"the top R = {int(topk)} items"
    return {
        "relevance": "single-label: same class id; multi-label: at least one shared label",
        "ranking": "database items by Hamming distance to the query on {0,1} codes",
        "cutoff": f"mAP over {cutoff} (a cut-off larger than the database is the database)",
        "average_precision": "AP@R = mean of precision@i over the relevant items ranked within "
                             "the top R (divided by the number of relevant items within the top "
                             "R, DeepHash/HashNet convention); a query with no relevant item in "
                             "the top R has AP 0 and stays in the mean",
        "ties": "map: ties in Hamming distance are ordered by database position (stable sort); "
                "map_tie_aware: expected AP@R over uniformly random orders within each tie "
                "(McSherry & Najork 2008), independent of the order",
        "precision_within_radius": "precision of the Hamming ball of radius 2 (distance <= 2), "
                                   "an empty ball counts as precision 0, mean over all queries",
        "pr_curve": "precision and recall of the Hamming ball of each radius 0..bits, mean over "
                    "all queries; empty ball: precision 0; no relevant item in the database: "
                    "recall 0",
        "precision_at_n": "precision of the top n of the stable ranking, mean over queries; an n "
                          "beyond the database divides by the database size",
    }


def evaluate(query_codes, query_labels, db_codes, db_labels, topk: int | None = None,
             pr_ns=None) -> dict:
    """mAP (stable and tie-aware), precision within radius 2, PR curve and precision@N."""
    p = prepare_inputs(query_codes, query_labels, db_codes, db_labels)
    check_topk(topk, p.num_database)
    if pr_ns is None:
        pr_ns = [n for n in DEFAULT_NS if n <= p.num_database] or [p.num_database]
    ns = check_ns(pr_ns)
    hist, rel = histograms(p)
    curve = pr_curve_from_histograms(hist, rel)
    return {
        "map": float(np.mean(_ap_from_prepared(p, topk, False))),
        "map_tie_aware": float(np.mean(_ap_from_prepared(p, topk, True, (hist, rel)))),
        "topk": None if topk is None else int(topk),
        "precision_r2": precision_within_radius_from_histograms(hist, rel, 2),
        "pr_curve": {
            "radius": curve.radius.tolist(),
            "precision": curve.precision.tolist(),
            "recall": curve.recall.tolist(),
        },
        "precision_at_n": {
            "n": ns.tolist(),
            "precision": precision_at_n_from_prepared(p, ns).tolist(),
        },
        "num_queries": p.num_queries,
        "num_database": p.num_database,
        "bits": p.bits,
        "conventions": metric_conventions(topk),
    }
