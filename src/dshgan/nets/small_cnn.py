"""A small CNN trained from scratch: the fast CPU trunk for the demo, tests and dry runs."""

from __future__ import annotations

import torch
from torch import nn

from dshgan.nets.registry import register_backbone


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


@register_backbone("small-cnn")
class SmallCNN(nn.Module):
    """Three VGG-style blocks and global average pooling (about 0.3 M parameters at width 32)."""

    def __init__(self, width: int = 32, input_size: int = 32, pretrained: bool = False):
        super().__init__()
        if pretrained:
            raise ValueError("small-cnn has no pretrained weights; it is trained from scratch")
        self.input_size = input_size
        self.feature_dim = 4 * width
        self.body = nn.Sequential(
            _conv_block(3, width), _conv_block(width, 2 * width), _conv_block(2 * width, 4 * width)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(images)).flatten(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_features(images)
