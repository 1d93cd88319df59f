"""Conditional batch norm (de Vries et al. 2017; Miyato & Koyama 2018): batch norm without its
own affine, whose per-channel gain and bias are linear maps of the label vector.

Why: the label then acts on every block of the generator, not only through its first
projection. ``gain = 1 + W_g y`` and ``bias = W_b y`` with a multi-hot ``y`` add up the columns
of every label present, so multi-label data needs nothing special (one-hot picks one column,
the per-class embedding of Miyato & Koyama).
"""

from __future__ import annotations

import torch
from torch import nn


class ConditionalBatchNorm2d(nn.Module):
    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        # Default (uniform) init, not zeros: the label shapes the images from the first step,
        # as the label embedding of the "concat" conditioning does.
        self.gain = nn.Linear(num_classes, channels, bias=False)
        self.bias = nn.Linear(num_classes, channels, bias=False)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        y = labels.to(x.dtype)
        gain = 1 + self.gain(y)
        bias = self.bias(y)
        return self.norm(x) * gain[:, :, None, None] + bias[:, :, None, None]
