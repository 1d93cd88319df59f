"""DPSH loss: pairwise-label likelihood on relaxed codes plus a quantisation penalty.

Li, Wang, Kang, "Feature learning based deep supervised hashing with pairwise labels",
IJCAI 2016. For real-valued outputs u_i (before sign) and S_ij = 1 when items i and j share a
label, θ_ij = ½ u_i·u_j and p(S_ij | u) = σ(θ_ij)^S_ij (1 - σ(θ_ij))^(1 - S_ij); the loss is the
negative log-likelihood -Σ (S_ij θ_ij - log(1 + e^θ_ij)) + η Σ_i ||u_i - sign(u_i)||^2.

Averaging: the likelihood is the mean over pairs and the quantisation the mean over output
entries (as DeepHash-pytorch), so neither depends on batch size or code length. The paper sums
both; its η over pairs with m other codes of K bits equals our η · (1 / (m K)).
log(1 + e^θ) is computed as softplus, which neither overflows nor needs clamping.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn


class DPSHTerms(NamedTuple):
    likelihood: torch.Tensor  # scalar: mean negative log-likelihood per pair
    quantization: torch.Tensor  # scalar: mean of (u - sign(u))^2 over the batch's entries
    total: torch.Tensor  # likelihood + eta * quantization


def pairwise_similarity(labels: torch.Tensor, other: torch.Tensor | None = None) -> torch.Tensor:
    """Bool (n, m): True where items share at least one label.

    Labels are multi-hot (n, c) or integer class ids (n,); ``other`` defaults to ``labels``.
    """
    other = labels if other is None else other
    if labels.ndim != other.ndim or labels.ndim not in (1, 2):
        raise ValueError(
            f"labels must both be class ids (n,) or multi-hot (n, c), got shapes "
            f"{tuple(labels.shape)} and {tuple(other.shape)}"
        )
    if labels.ndim == 1:
        if labels.is_floating_point() or other.is_floating_point():
            raise TypeError("1-D labels must be integer class ids")
        return labels[:, None] == other[None, :]
    if labels.shape[1] != other.shape[1]:
        raise ValueError(f"labels have {labels.shape[1]} and {other.shape[1]} classes")
    return (labels.double() @ other.double().T) > 0


def quantization_error(outputs: torch.Tensor) -> torch.Tensor:
    """Mean of (u - sign(u))^2: how far the relaxed outputs are from binary codes."""
    return (outputs - torch.sign(outputs).detach()).pow(2).mean()


def check_outputs(outputs: torch.Tensor, labels: torch.Tensor, what: str = "outputs") -> None:
    if not isinstance(outputs, torch.Tensor) or not outputs.is_floating_point():
        raise TypeError(f"{what} must be a floating-point tensor")
    if outputs.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n, bits), got shape {tuple(outputs.shape)}")
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels for {what} must be a tensor")
    if labels.shape[0] != outputs.shape[0]:
        raise ValueError(f"{what} have {outputs.shape[0]} rows but their labels {labels.shape[0]}")


class DPSHLoss(nn.Module):
    """Negative log-likelihood of pairwise similarities plus η times the quantisation error.

    ``forward(outputs, labels)`` uses every pair (i, j), i != j, within the batch.
    ``forward(outputs, labels, bank_outputs, bank_labels)`` instead pairs each batch item with
    every bank item (e.g. a memory of the outputs for the whole training set, as in the paper;
    the bank is used as given, so detach it unless its gradient is wanted).
    """

    def __init__(self, eta: float = 0.1):
        super().__init__()
        if not eta >= 0:
            raise ValueError(f"eta must be non-negative, got {eta!r}")
        self.eta = float(eta)

    def forward(
        self,
        outputs: torch.Tensor,
        labels: torch.Tensor,
        bank_outputs: torch.Tensor | None = None,
        bank_labels: torch.Tensor | None = None,
    ) -> DPSHTerms:
        check_outputs(outputs, labels)
        if (bank_outputs is None) != (bank_labels is None):
            raise ValueError("give both bank_outputs and bank_labels, or neither")
        if bank_outputs is None:
            if outputs.shape[0] < 2:
                raise ValueError("a batch against itself needs at least 2 items to form a pair")
            similar = pairwise_similarity(labels)
            mask = ~torch.eye(outputs.shape[0], dtype=torch.bool, device=outputs.device)
            other = outputs
        else:
            check_outputs(bank_outputs, bank_labels, "bank_outputs")
            if bank_outputs.shape[1] != outputs.shape[1]:
                raise ValueError(
                    f"bank_outputs have {bank_outputs.shape[1]} bits, outputs {outputs.shape[1]}"
                )
            if bank_outputs.shape[0] == 0:
                raise ValueError("bank_outputs is empty")
            similar = pairwise_similarity(labels, bank_labels)
            mask = None
            other = bank_outputs
        theta = 0.5 * outputs @ other.T
        nll = F.softplus(theta) - similar.to(theta.dtype) * theta
        likelihood = nll.mean() if mask is None else nll[mask].mean()
        quantization = quantization_error(outputs)
        return DPSHTerms(likelihood, quantization, likelihood + self.eta * quantization)
