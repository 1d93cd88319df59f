"""Adversarial loss of the hashing net's adversary stream and of the GAN discriminator.

The discriminating side minimises binary cross-entropy with real = 1, synthetic = 0. The
generating side must *raise* that loss ("- adversarial" in the paper's generator objective). The
literal minimax form saturates as soon as the discriminator wins, and the generator stops
learning; we default to the non-saturating surrogate (Goodfellow et al., 2014): label the
synthetic images "real". Both have the same fixed point; ``mode="minimax"`` keeps the literal one.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits: torch.Tensor, synthetic_logits: torch.Tensor) -> torch.Tensor:
    """Mean BCE over every image given, real ones labelled 1 and synthetic ones 0."""
    logits = torch.cat([real_logits, synthetic_logits])
    targets = torch.cat([torch.ones_like(real_logits), torch.zeros_like(synthetic_logits)])
    return F.binary_cross_entropy_with_logits(logits, targets)


def generator_loss(
    synthetic_logits: torch.Tensor, mode: Literal["non-saturating", "minimax"] = "non-saturating"
) -> torch.Tensor:
    """What the generator minimises to fool the discriminating side."""
    if mode == "non-saturating":
        return F.binary_cross_entropy_with_logits(
            synthetic_logits, torch.ones_like(synthetic_logits)
        )
    if mode == "minimax":
        return -F.binary_cross_entropy_with_logits(
            synthetic_logits, torch.zeros_like(synthetic_logits)
        )
    raise ValueError(f"unknown generator loss mode {mode!r}; use 'non-saturating' or 'minimax'")


def discriminator_hinge_loss(real_logits: torch.Tensor, synthetic_logits: torch.Tensor
                             ) -> torch.Tensor:
    """The hinge loss (Lim & Ye 2017; Miyato et al. 2018): mean(relu(1 - real)) +
    mean(relu(1 + synthetic)). An option for stage 1 (``gan.loss: hinge``)."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + synthetic_logits).mean()


def generator_hinge_loss(synthetic_logits: torch.Tensor) -> torch.Tensor:
    """The generator's side of the hinge loss: -mean(synthetic logits)."""
    return -synthetic_logits.mean()
