"""DTSH loss: triplet-label likelihood on relaxed codes plus a quantisation penalty.

Wang, Shi, Kitani, "Deep supervised hashing with triplet labels", ACCV 2016. For an anchor i,
a positive j (shares a label with i, j != i) and a negative k (shares none), θ_ij = ½ u_i·u_j
and p(triplet | u) = σ(θ_ij - θ_ik - α); the loss is the negative log-likelihood
-(θ_ij - θ_ik - α - log(1 + e^(θ_ij - θ_ik - α))) = softplus(θ_ik - θ_ij + α), averaged over
every valid triplet in the batch, plus λ times the mean of (u - sign(u))^2 over the entries.
α = 5 and λ = 1 are DeepHash-pytorch's defaults (which uses u_i·u_j without the ½).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from dshgan.losses.dpsh import check_outputs, pairwise_similarity, quantization_error

# Anchors are processed in chunks so that memory stays near this many triplet scores.
_CHUNK_ELEMENTS = 1 << 22


class DTSHTerms(NamedTuple):
    likelihood: torch.Tensor  # scalar: mean negative log-likelihood per valid triplet (0 if none)
    quantization: torch.Tensor  # scalar: mean of (u - sign(u))^2 over the batch's entries
    total: torch.Tensor  # likelihood + lam * quantization
    n_triplets: int  # how many valid triplets the batch held


class DTSHLoss(nn.Module):
    """Mean triplet negative log-likelihood over valid in-batch triplets, plus λ · quantisation."""

    def __init__(self, alpha: float = 5.0, lam: float = 1.0):
        super().__init__()
        if not alpha >= 0:
            raise ValueError(f"alpha must be non-negative, got {alpha!r}")
        if not lam >= 0:
            raise ValueError(f"lam must be non-negative, got {lam!r}")
        self.alpha, self.lam = float(alpha), float(lam)

    def forward(self, outputs: torch.Tensor, labels: torch.Tensor) -> DTSHTerms:
        check_outputs(outputs, labels)
        n = outputs.shape[0]
        similar = pairwise_similarity(labels)
        eye = torch.eye(n, dtype=torch.bool, device=outputs.device)
        positive, negative = similar & ~eye, ~similar
        theta = 0.5 * outputs @ outputs.T
        total = outputs.new_zeros(())
        count = 0
        step = max(1, _CHUNK_ELEMENTS // max(n * n, 1))
        for start in range(0, n, step):
            rows = slice(start, start + step)
            # valid[a, j, k]: anchor a (in this chunk), positive j, negative k
            valid = positive[rows, :, None] & negative[rows, None, :]
            if not valid.any():
                continue
            t = theta[rows]
            scores = F.softplus(t[:, None, :] - t[:, :, None] + self.alpha)
            total = total + scores[valid].sum()
            count += int(valid.sum())
        likelihood = total / count if count else total
        quantization = quantization_error(outputs)
        return DTSHTerms(likelihood, quantization, likelihood + self.lam * quantization, count)
