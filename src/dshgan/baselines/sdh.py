"""Supervised discrete hashing (SDH).

Shen, Shen, Liu, Shen, "Supervised discrete hashing", CVPR 2015. Features are mapped to RBF
kernel features on m anchors, φ(x) = [exp(-||x - a_j||^2 / 2σ^2)]_j plus a bias 1 (anchors drawn
from the training set, σ the mean sample-anchor distance unless given). SDH then minimises

    ||Y - B W||^2 + λ ||W||^2 + ν (||B - φ(X) F||^2 + δ ||F||^2),   B in {-1, 1}^(n x bits)

by alternating the ridge regressions for W (labels from codes) and F (codes from kernel features)
with the discrete cyclic coordinate descent (DCC) for B: with Q = Y W^T + ν φ(X) F, each bit
column is solved exactly given the others, z = sign(q - B' W' w), where w is the bit's row of W.
Every step minimises its block, so the objective never increases (``loss_history_``). Y may be
multi-hot, so multi-label data work unchanged. Defaults follow the authors' demo: λ = 1,
ν = 1e-5, δ = 1e-2, 5 outer iterations, up to 10 DCC sweeps, 1000 anchors.
"""

from __future__ import annotations

import numpy as np

from dshgan.baselines.base import HashingBaseline, register_baseline

_ENCODE_CHUNK = 4096


@register_baseline("sdh")
class SDH(HashingBaseline):
    """Kernel regression to discrete codes that linearly predict the labels; any number of bits."""

    supervised = True

    def __init__(
        self,
        bits: int,
        seed: int = 0,
        n_anchors: int = 1000,
        sigma: float | None = None,
        lam: float = 1.0,
        nu: float = 1e-5,
        delta: float = 1e-2,
        n_iter: int = 5,
        dcc_iter: int = 10,
    ):
        super().__init__(bits, seed)
        for key, value in (("n_anchors", n_anchors), ("n_iter", n_iter), ("dcc_iter", dcc_iter)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        for key, value in (("lam", lam), ("nu", nu), ("delta", delta)):
            if not value > 0:
                raise ValueError(f"{key} must be positive, got {value!r}")
        if sigma is not None and not sigma > 0:
            raise ValueError(f"sigma must be positive or None, got {sigma!r}")
        self.n_anchors, self.sigma = int(n_anchors), sigma
        self.lam, self.nu, self.delta = float(lam), float(nu), float(delta)
        self.n_iter, self.dcc_iter = int(n_iter), int(dcc_iter)

    def _fit(self, x: np.ndarray, y: np.ndarray | None) -> None:
        assert y is not None  # guaranteed by HashingBaseline.fit for supervised methods
        rng = np.random.default_rng(self.seed)
        m = min(self.n_anchors, x.shape[0])
        self.anchors_ = x[np.sort(rng.choice(x.shape[0], size=m, replace=False))]
        sq = _squared_distances(x, self.anchors_)
        self.sigma_ = float(np.sqrt(sq).mean()) if self.sigma is None else float(self.sigma)
        if self.sigma_ <= 0:
            raise ValueError("SDH cannot set the RBF width: all training features are identical")
        phi = self._kernel(sq)

        b = np.where(rng.standard_normal((x.shape[0], self.bits)) >= 0, 1.0, -1.0)
        # φ^T φ does not change across iterations: factor it once.
        gram_inv = np.linalg.inv(phi.T @ phi + self.delta * np.eye(phi.shape[1]))
        w = _ridge(b, y, self.lam)
        f = gram_inv @ (phi.T @ b)
        history = [self._objective(y, b, w, phi, f)]
        for _ in range(self.n_iter):
            b = self._dcc(b, y @ w.T + self.nu * (phi @ f), w)
            w = _ridge(b, y, self.lam)
            f = gram_inv @ (phi.T @ b)
            history.append(self._objective(y, b, w, phi, f))
        self.w_, self.projection_ = w, f
        self.loss_history_ = np.asarray(history)

    def _project(self, x: np.ndarray) -> np.ndarray:
        # In row chunks: a whole database's kernel matrix (n x anchors) would not fit in memory.
        out = np.empty((x.shape[0], self.bits))
        for start in range(0, x.shape[0], _ENCODE_CHUNK):
            rows = slice(start, start + _ENCODE_CHUNK)
            out[rows] = self._kernel(_squared_distances(x[rows], self.anchors_)) @ self.projection_
        return out

    def _kernel(self, sq: np.ndarray) -> np.ndarray:
        phi = np.exp(-sq / (2.0 * self.sigma_**2))
        return np.hstack([phi, np.ones((phi.shape[0], 1))])

    def _dcc(self, b: np.ndarray, q: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Discrete cyclic coordinate descent on min ||B W||^2 - 2 tr(B^T Q) over B in ±1."""
        b = b.copy()
        bw = b @ w  # kept in sync so that each bit costs O(n c), not O(n bits c)
        for _ in range(self.dcc_iter):
            changed = 0
            for k in range(self.bits):
                wk = w[k]
                others = (bw - np.outer(b[:, k], wk)) @ wk  # B' W' w_k
                score = q[:, k] - others
                # Where score is exactly 0 both signs are optimal: keep the old bit.
                new = np.where(score > 0, 1.0, np.where(score < 0, -1.0, b[:, k]))
                flips = new != b[:, k]
                if flips.any():
                    bw += np.outer(new - b[:, k], wk)
                    b[:, k] = new
                    changed += int(flips.sum())
            if changed == 0:
                break
        return b

    def _objective(self, y, b, w, phi, f) -> float:
        return float(
            np.sum((y - b @ w) ** 2)
            + self.lam * np.sum(w**2)
            + self.nu * (np.sum((b - phi @ f) ** 2) + self.delta * np.sum(f**2))
        )


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """argmin_W ||Y - X W||^2 + lam ||W||^2."""
    return np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y)


def _squared_distances(x: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    sq = (x**2).sum(1)[:, None] + (anchors**2).sum(1)[None, :] - 2.0 * x @ anchors.T
    return np.maximum(sq, 0.0)
