"""A discriminator with a twin classifier for the synthetic images, an opt-in stage-1 option
(``gan.twin_classifier_weight`` > 0), after TAC-GAN (Gong et al., "Twin Auxiliary Classifiers
GAN", NeurIPS 2019).

Why: the auxiliary classifier (the paper's D) pays G for images its classifier finds easy, and
so pulls each class's images towards one template, which our grids show. A second classifier
learns to tell the synthetic images' asked labels apart; G plays against it, which cancels that
pull (the paper shows the bias term of AC-GAN's objective is what the twin removes). The twin
reads the same features as the class head (the last entry of the output's ``features``).
"""

from __future__ import annotations

import torch
from torch import nn

from dshgan.nets.discriminator import DiscriminatorOutput


class TwinClassifier(nn.Module):
    """Wraps a discriminator whose output carries ``features``; adds ``twin_logits``. Exposes
    the wrapped net's ``feature_dims`` so a class projection can wrap it in turn."""

    def __init__(self, net: nn.Module, num_classes: int):
        super().__init__()
        self.net = net
        self.feature_dims = net.feature_dims
        self.twin_head = nn.Linear(net.feature_dims[-1], num_classes)

    def forward(self, images: torch.Tensor) -> DiscriminatorOutput:
        out = self.net(images)
        return out._replace(twin_logits=self.twin_head(out.features[-1]))
