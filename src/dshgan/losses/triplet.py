"""Triplet ranking loss on relaxed codes (Qiu et al., SIGIR 2017, Eq. 4; margin form of
Lai et al., CVPR 2015): max(0, m - |h - h-|^2 + |h - h+|^2) with h in [0, 1]^K.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class TripletTerms(NamedTuple):
    per_triplet: torch.Tensor  # (n,) hinge value of each triplet
    positive_distance: torch.Tensor  # (n,) |h - h+|^2
    negative_distance: torch.Tensor  # (n,) |h - h-|^2
    loss: torch.Tensor  # scalar: mean of per_triplet


class TripletRankingLoss(nn.Module):
    def __init__(self, margin: float = 1.0):
        super().__init__()
        if margin <= 0:
            raise ValueError(f"margin must be positive, got {margin}")
        self.margin = margin

    def forward(
        self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor
    ) -> TripletTerms:
        if not anchor.shape == positive.shape == negative.shape:
            raise ValueError(
                f"triplet shapes differ: {anchor.shape}, {positive.shape}, {negative.shape}"
            )
        d_pos = (anchor - positive).pow(2).sum(dim=1)
        d_neg = (anchor - negative).pow(2).sum(dim=1)
        per_triplet = torch.relu(self.margin - d_neg + d_pos)
        return TripletTerms(per_triplet, d_pos, d_neg, per_triplet.mean())
