"""PCA hashing: the sign of the top principal components.

The PCAH baseline of Wang, Kumar, Chang, "Semi-supervised hashing for scalable image retrieval",
CVPR 2010 (and "Semi-supervised hashing for large-scale search", TPAMI 2012). Bit b is the sign of
the centred feature's projection onto the b-th principal direction (directions ordered by
decreasing variance; each direction's largest entry is made positive so codes are reproducible).

PCA gives at most d directions, and at most n - 1 with non-zero variance, so ``fit`` raises a
ValueError when ``bits > d`` or ``bits > n - 1`` instead of inventing meaningless bits.
"""

from __future__ import annotations

import numpy as np

from dshgan.baselines._pca import principal_directions
from dshgan.baselines.base import HashingBaseline, register_baseline


def check_pca_bits(method: str, bits: int, n: int, d: int) -> None:
    """Refuse more PCA bits than the data has directions (shared with ITQ)."""
    if bits > d:
        raise ValueError(
            f"{method} cannot give {bits} bits from {d}-dimensional features "
            f"(PCA has only {d} directions); use bits <= {d}, or LSH/SH/SDH"
        )
    if bits > n - 1:
        raise ValueError(f"{method} needs at least bits + 1 = {bits + 1} training samples, got {n}")


@register_baseline("pcah")
class PCAH(HashingBaseline):
    """Top-``bits`` principal directions, thresholded at the training mean."""

    supervised = False

    def _fit(self, x: np.ndarray, y: np.ndarray | None) -> None:
        check_pca_bits("PCAH", self.bits, *x.shape)
        self.mean_, self.directions_, self.variances_ = principal_directions(x, self.bits)

    def _project(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) @ self.directions_
