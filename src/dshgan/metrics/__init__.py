"""Retrieval metrics on binary codes: mAP (stable and tie-aware), precision within a Hamming
radius, PR curve over radii and precision@N. Conventions: docs/design.md, "Metric conventions",
and :func:`metric_conventions`."""

from dshgan.metrics.average_precision import (
    average_precisions,
    leave_one_out_average_precisions,
    mean_average_precision,
)
from dshgan.metrics.evaluate import evaluate, metric_conventions
from dshgan.metrics.hamming_ball import PRCurve, precision_recall_curve, precision_within_radius
from dshgan.metrics.precision_at_n import precision_at_n

__all__ = [
    "PRCurve",
    "average_precisions",
    "evaluate",
    "leave_one_out_average_precisions",
    "mean_average_precision",
    "metric_conventions",
    "precision_at_n",
    "precision_recall_curve",
    "precision_within_radius",
]
