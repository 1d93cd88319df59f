"""Iterative quantization (ITQ).

Gong and Lazebnik, "Iterative quantization: a Procrustean approach to learning binary codes",
CVPR 2011. Project centred features onto the top ``bits`` principal directions (V = X W), then
find the orthogonal rotation R minimising the quantisation loss ||B - V R||_F^2 over B in
{-1, 1}^(n x bits) by alternating B = sign(V R) and the orthogonal Procrustes solution
R = S Ŝ^T from the SVD V^T B = S Ω Ŝ^T. The rotation starts random (seeded); 50 iterations
as in the paper. Raises ValueError when bits exceed the PCA directions (see PCAH).
"""

from __future__ import annotations

import numpy as np

from dshgan.baselines._pca import principal_directions
from dshgan.baselines.base import HashingBaseline, register_baseline
from dshgan.baselines.pcah import check_pca_bits


@register_baseline("itq")
class ITQ(HashingBaseline):
    """PCA followed by a learned rotation that spreads variance evenly over the bits.

    ``loss_history_[t]`` is min_B ||B - V R_t||^2 for the rotation after t iterations; it never
    increases (each half-step solves its sub-problem exactly).
    """

    supervised = False

    def __init__(self, bits: int, seed: int = 0, n_iter: int = 50):
        super().__init__(bits, seed)
        if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
            raise ValueError(f"n_iter must be a non-negative integer, got {n_iter!r}")
        self.n_iter = int(n_iter)

    def _fit(self, x: np.ndarray, y: np.ndarray | None) -> None:
        check_pca_bits("ITQ", self.bits, *x.shape)
        self.mean_, self.directions_, _ = principal_directions(x, self.bits)
        v = (x - self.mean_) @ self.directions_
        rng = np.random.default_rng(self.seed)
        q, r = np.linalg.qr(rng.standard_normal((self.bits, self.bits)))
        rotation = q * np.where(np.diag(r) < 0, -1.0, 1.0)  # Haar-distributed orthogonal start
        history = [_quantization_loss(v, rotation)]
        for _ in range(self.n_iter):
            b = np.where(v @ rotation >= 0, 1.0, -1.0)
            s, _, s_hat_t = np.linalg.svd(v.T @ b)
            rotation = s @ s_hat_t
            history.append(_quantization_loss(v, rotation))
        self.rotation_ = rotation
        self.loss_history_ = np.asarray(history)

    def _project(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) @ self.directions_ @ self.rotation_


def _quantization_loss(v: np.ndarray, rotation: np.ndarray) -> float:
    vr = v @ rotation
    return float(np.sum((np.where(vr >= 0, 1.0, -1.0) - vr) ** 2))
