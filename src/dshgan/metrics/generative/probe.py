"""The classifier behind GAN-test and GAN-train: a linear probe (logistic regression) on frozen
features, softmax for single-label data and one sigmoid per concept for multi-label data.

Why a linear probe and not a CNN trained from pixels (as Shmelkov et al. do): it is cheap and
deterministic on a CPU, has no epochs or augmentation to tune, and every number then differs
between runs only through the images. Why not the stage-1 discriminator: it was trained against
this very generator, so its accuracy on the generator's images says little about them.

Training: full-batch L-BFGS with strong-Wolfe line search, a fixed number of iterations, zero
initial weights (so no seed is involved), an L2 penalty, in float64. Features are centred and
scaled per dimension by the training features' statistics, with a floor on the scale so that a
dimension that barely varies (a collapsed generator's features) does not blow up.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

L2 = 0.1  # real validation accuracy on the bundled sample is flat from 1e-3 to 1 (experiment log)
ITERATIONS = 200


class LinearProbe:
    def __init__(self, multi_label: bool, l2: float = L2, iterations: int = ITERATIONS):
        self.multi_label, self.l2, self.iterations = multi_label, l2, iterations

    def fit(self, features: np.ndarray, labels: np.ndarray) -> LinearProbe:
        """``labels`` multi-hot (n, C); single-label rows are one-hot."""
        x = np.asarray(features, np.float64)
        y = np.asarray(labels)
        if len(x) != len(y) or y.ndim != 2:
            raise ValueError(f"features {x.shape} and labels {y.shape} do not match")
        self.mean = x.mean(axis=0)
        var = x.var(axis=0)
        self.scale = np.sqrt(var + 1e-2 * var.mean() + 1e-12)
        xt = torch.from_numpy((x - self.mean) / self.scale)
        yt = torch.from_numpy(y.astype(np.float64))
        target = yt.argmax(dim=1)
        w = torch.zeros(x.shape[1], y.shape[1], dtype=torch.float64, requires_grad=True)
        b = torch.zeros(y.shape[1], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=self.iterations, history_size=20,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-9,
                                tolerance_change=1e-12)

        def closure():
            opt.zero_grad()
            logits = xt @ w + b
            if self.multi_label:
                # Summed over concepts, so the penalty weighs the same as for softmax.
                loss = F.binary_cross_entropy_with_logits(logits, yt, reduction="sum") / len(xt)
            else:
                loss = F.cross_entropy(logits, target)
            loss = loss + 0.5 * self.l2 * (w * w).sum()
            loss.backward()
            return loss

        opt.step(closure)
        self.w, self.b = w.detach().numpy(), b.detach().numpy()
        return self

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(n, C) logits: argmax is the predicted class; each column ranks for its concept."""
        x = (np.asarray(features, np.float64) - self.mean) / self.scale
        return x @ self.w + self.b
