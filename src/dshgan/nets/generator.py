"""Conditional generator of stage 1 (DCGAN-style, Radford et al. 2016, conditioned as in AC-GAN,
Odena et al. 2017): noise plus a label embedding in, an image in [-1, 1] out.

Labels enter as multi-hot vectors through a linear embedding, so one image can be asked for
several concepts at once (NUS-WIDE) and single-label data is the one-hot special case.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn


class ConditionalGenerator(nn.Module):
    def __init__(
        self,
        num_classes: int,
        noise_dim: int = 100,
        image_size: int = 32,
        width: int = 64,
        label_embedding_dim: int = 64,
    ):
        super().__init__()
        steps = math.log2(image_size / 4)
        if image_size < 8 or steps != int(steps):
            raise ValueError(f"generator image_size must be 4 * 2^k >= 8, got {image_size}")
        self.num_classes = num_classes
        self.noise_dim = noise_dim
        self.image_size = image_size
        channels = [width * 2 ** (int(steps) - 1 - i) for i in range(int(steps))]
        self.label_embedding = nn.Linear(num_classes, label_embedding_dim, bias=False)
        self.project = nn.Sequential(
            nn.Linear(noise_dim + label_embedding_dim, channels[0] * 16, bias=False),
            nn.BatchNorm1d(channels[0] * 16),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for cin, cout in itertools.pairwise(channels):
            layers += [
                nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ConvTranspose2d(channels[-1], 3, 4, stride=2, padding=1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)
        self._first_channels = channels[0]

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = self.label_embedding.weight.device
        return torch.randn(n, self.noise_dim, generator=generator, device=device)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if labels.shape[-1] != self.num_classes:
            raise ValueError(f"labels have width {labels.shape[-1]}, expected {self.num_classes}")
        h = torch.cat([noise, self.label_embedding(labels.float())], dim=1)
        h = self.project(h).view(-1, self._first_channels, 4, 4)
        return self.upsample(h)
