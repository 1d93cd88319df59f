"""Classification stream loss: softmax cross-entropy for single-label data, per-label sigmoid
cross-entropy for multi-label data (Qiu et al., SIGIR 2017, Sec. 3.2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def classification_loss(
    logits: torch.Tensor, labels: torch.Tensor, multi_label: bool
) -> torch.Tensor:
    """Mean loss for ``logits`` (n, c) against multi-hot ``labels`` (n, c)."""
    if logits.shape != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ")
    if multi_label:
        return F.binary_cross_entropy_with_logits(logits, labels.float())
    return F.cross_entropy(logits, labels.argmax(dim=1))
