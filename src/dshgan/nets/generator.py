"""Conditional generator of stage 1 (DCGAN-style, Radford et al. 2016, conditioned as in AC-GAN,
Odena et al. 2017): noise plus a label embedding in, an image in [-1, 1] out.

Labels enter as multi-hot vectors through a linear embedding, so one image can be asked for
several concepts at once (NUS-WIDE) and single-label data is the one-hot special case.

Two opt-in options of the GAN literature (``gan.upsample``, ``gan.conditioning``), the defaults
being the net above:

- ``upsample="resize"``: each doubling is nearest-neighbour x2 then a 3x3 conv instead of a 4x4
  stride-2 transposed conv, which avoids the transposed conv's checkerboard artefacts (Odena,
  Dumoulin & Olah, Distill 2016).
- ``conditioning="batchnorm"``: conditional batch norm (nets/conditional_batchnorm.py) in every
  conv block, the label's gain and bias acting at each resolution (Miyato & Koyama 2018). Noise
  alone enters the first projection then, as in their generator: the label reaches the first
  block through its conditional batch norm at 4 px, so it still enters at every size, including
  8 px where no block lies between the projection and the last conv.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from dshgan.nets.conditional_batchnorm import ConditionalBatchNorm2d

UPSAMPLING = ("transposed", "resize")
CONDITIONING = ("concat", "batchnorm")


class ConditionalGenerator(nn.Module):
    def __init__(
        self,
        num_classes: int,
        noise_dim: int = 100,
        image_size: int = 32,
        width: int = 64,
        label_embedding_dim: int = 64,
        upsample: str = "transposed",
        conditioning: str = "concat",
    ):
        super().__init__()
        steps = math.log2(image_size / 4)
        if image_size < 8 or steps != int(steps):
            raise ValueError(f"generator image_size must be 4 * 2^k >= 8, got {image_size}")
        if upsample not in UPSAMPLING:
            raise ValueError(f"generator upsample must be one of {UPSAMPLING}, got {upsample!r}")
        if conditioning not in CONDITIONING:
            raise ValueError(f"generator conditioning must be one of {CONDITIONING}, "
                             f"got {conditioning!r}")
        self.num_classes = num_classes
        self.noise_dim = noise_dim
        self.image_size = image_size
        self.upsample_mode, self.conditioning = upsample, conditioning
        channels = [width * 2 ** (int(steps) - 1 - i) for i in range(int(steps))]
        layers: list[nn.Module] = []
        if conditioning == "concat":
            self.label_embedding = nn.Linear(num_classes, label_embedding_dim, bias=False)
            self.project = nn.Sequential(
                nn.Linear(noise_dim + label_embedding_dim, channels[0] * 16, bias=False),
                nn.BatchNorm1d(channels[0] * 16),
                nn.ReLU(inplace=True),
            )
        else:
            self.project = nn.Sequential(nn.Linear(noise_dim, channels[0] * 16, bias=False))
            layers += [ConditionalBatchNorm2d(channels[0], num_classes), nn.ReLU(inplace=True)]
        for cin, cout in itertools.pairwise(channels):
            layers += [
                *self._doubling(cin, cout, bias=False),
                self._norm(cout),
                nn.ReLU(inplace=True),
            ]
        layers += [*self._doubling(channels[-1], 3, bias=True), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)  # the blocks from 4 px to the image
        self._first_channels = channels[0]

    def _doubling(self, cin: int, cout: int, bias: bool) -> list[nn.Module]:
        """The layers that double the size and map cin to cout channels."""
        if self.upsample_mode == "transposed":
            return [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=bias)]
        return [nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(cin, cout, 3, padding=1, bias=bias)]

    def _norm(self, channels: int) -> nn.Module:
        if self.conditioning == "concat":
            return nn.BatchNorm2d(channels)
        return ConditionalBatchNorm2d(channels, self.num_classes)

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = self.project[0].weight.device
        return torch.randn(n, self.noise_dim, generator=generator, device=device)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if labels.shape[-1] != self.num_classes:
            raise ValueError(f"labels have width {labels.shape[-1]}, expected {self.num_classes}")
        labels = labels.float()
        h = noise
        if self.conditioning == "concat":
            h = torch.cat([noise, self.label_embedding(labels)], dim=1)
        h = self.project(h).view(-1, self._first_channels, 4, 4)
        for layer in self.upsample:
            h = layer(h, labels) if isinstance(layer, ConditionalBatchNorm2d) else layer(h)
        return h
