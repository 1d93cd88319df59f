"""Retrieval metrics on binary codes: mAP (stable and tie-aware), precision within a Hamming
radius, PR curve over radii and precision@N. Conventions: docs/design.md, "Metric conventions",
and :func:`metric_conventions`.

The generator's metrics (GAN-test, GAN-train, FID, diversity) are in ``dshgan.metrics.generative``,
loaded on first use: it needs torch, which nothing else here does."""

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


def __getattr__(name: str):
    # ``dshgan.metrics.generative`` without importing torch for users of the retrieval metrics.
    if name == "generative":
        import importlib

        return importlib.import_module("dshgan.metrics.generative")
    raise AttributeError(f"module 'dshgan.metrics' has no attribute {name!r}")
