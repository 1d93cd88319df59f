"""Principal directions shared by PCAH, ITQ and SH, with a fixed sign so codes are reproducible.

An eigenvector is only defined up to sign, and LAPACK builds may pick either; flipping a direction
flips its bit. We make the entry of largest magnitude positive (as scikit-learn's ``svd_flip``).
"""

from __future__ import annotations

import numpy as np


def principal_directions(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (mean (d,), directions (d, k) by decreasing variance, variances (k,)) of x (n, d)."""
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / max(x.shape[0] - 1, 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values, kind="stable")[::-1][:k]
    directions = fix_signs(vectors[:, order])
    return mean, directions, values[order]


def fix_signs(directions: np.ndarray) -> np.ndarray:
    """Flip each column so that its entry of largest magnitude is positive."""
    rows = np.argmax(np.abs(directions), axis=0)
    signs = np.sign(directions[rows, np.arange(directions.shape[1])])
    signs[signs == 0] = 1.0
    return directions * signs
