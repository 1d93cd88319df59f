"""Semi-supervised discriminator of stage 1: one trunk, a real/synthetic output and a classifier.

Labelled real images train both outputs, unlabelled real images only the real/synthetic one
(Odena 2016; Salimans et al. 2016), which is how the GAN learns from the many unlabelled images.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.utils.parametrizations as param
from torch import nn


class DiscriminatorOutput(NamedTuple):
    real_logit: torch.Tensor  # (n,): > 0 means "real"
    class_logits: torch.Tensor  # (n, num_classes)
    # The features each real/synthetic logit is read from, one (n, d) tensor per logit column;
    # a class projection (nets/class_projection.py) conditions the logits on labels with them.
    features: tuple[torch.Tensor, ...] = ()
    # A twin classifier's logits for the same images (nets/twin_classifier.py), when D has one.
    twin_logits: torch.Tensor | None = None


class TwoHeadDiscriminator(nn.Module):
    """A trunk whose flattened features feed a real/synthetic head (spectrally normalised) and a
    class head: the shape of this D and of SN-GAN's (nets/sngan_discriminator.py)."""

    def __init__(self, trunk_layers: list[nn.Module], feature_dim: int, num_classes: int):
        super().__init__()
        self.trunk = nn.Sequential(*trunk_layers, nn.Flatten())
        self.real_head = param.spectral_norm(nn.Linear(feature_dim, 1))
        self.class_head = nn.Linear(feature_dim, num_classes)
        self.feature_dims = (feature_dim,)

    def forward(self, images: torch.Tensor) -> DiscriminatorOutput:
        h = self.trunk(images)
        return DiscriminatorOutput(self.real_head(h).squeeze(1), self.class_head(h), (h,))


class Discriminator(TwoHeadDiscriminator):
    def __init__(self, num_classes: int, image_size: int = 32, width: int = 64):
        layers: list[nn.Module] = []
        cin, size, cout = 3, image_size, width
        while size > 4:
            # Spectral norm keeps the small-data GAN stable without tuning per dataset.
            layers += [param.spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)),
                       nn.LeakyReLU(0.2, inplace=True)]
            cin, cout, size = cout, cout * 2, size // 2
        super().__init__(layers, cin * size * size, num_classes)
