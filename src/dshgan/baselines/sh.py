"""Spectral hashing (SH).

Weiss, Torralba, Fergus, "Spectral hashing", NIPS 2008, following the authors' trainSH /
compressSH algorithm: PCA to min(bits, d) directions; assume the data uniform on the box
[mn, mx] spanned by the projections (R = mx - mn); the one-dimensional Laplacian
eigenfunctions there are cos(k π (t - mn) / R) with eigenvalue ∝ (k π / R)^2. Enumerate the
modes k = 1, 2, ... of every direction, keep the ``bits`` with the smallest eigenvalues
(ties in enumeration order, as the stable MATLAB sort), and threshold each eigenfunction at 0.
Directions of large spread give several bits, so any number of bits works, also bits > d.
"""

from __future__ import annotations

import numpy as np

from dshgan.baselines._pca import principal_directions
from dshgan.baselines.base import HashingBaseline, register_baseline

# The authors pad the box by machine epsilon so that no training point sits on its edge.
_EPS = np.finfo(np.float64).eps


@register_baseline("sh")
class SpectralHashing(HashingBaseline):
    """Analytic eigenfunctions of a uniform box in PCA space; bit b uses one (direction, mode)."""

    supervised = False

    def _fit(self, x: np.ndarray, y: np.ndarray | None) -> None:
        n_pca = min(self.bits, x.shape[1])
        self.mean_, self.directions_, _ = principal_directions(x, n_pca)
        proj = (x - self.mean_) @ self.directions_
        self.low_ = proj.min(axis=0) - _EPS
        spread = proj.max(axis=0) + _EPS - self.low_
        if spread.max() <= 4 * _EPS:
            raise ValueError("SH cannot hash constant features (zero spread after PCA)")
        # Enough modes per direction that the widest one alone could supply every bit.
        max_mode = np.ceil((self.bits + 1) * spread / spread.max()).astype(int)
        dims = np.concatenate([np.full(m - 1, i) for i, m in enumerate(max_mode)])
        ks = np.concatenate([np.arange(1, m) for m in max_mode]).astype(np.float64)
        eigen = (ks * np.pi / spread[dims]) ** 2  # the constant mode (k = 0) is never a bit
        keep = np.argsort(eigen, kind="stable")[: self.bits]
        self.mode_dims_ = dims[keep]
        self.omegas_ = ks[keep] * np.pi / spread[self.mode_dims_]
        self.eigenvalues_ = eigen[keep]

    def _project(self, x: np.ndarray) -> np.ndarray:
        proj = (x - self.mean_) @ self.directions_
        # sin(ω (t - mn) + π/2) in the authors' code, written as a cosine.
        return np.cos(self.omegas_ * (proj[:, self.mode_dims_] - self.low_[self.mode_dims_]))
