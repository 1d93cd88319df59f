"""The standard CNN discriminator of SN-GAN (Miyato et al., ICLR 2018, Table 3), an opt-in
stage-1 discriminator (``gan.discriminator: sngan``).

Why: it is deeper than the DCGAN-style one (a 3x3 stride-1 conv before each 4x4 stride-2 one,
then a last 3x3 conv), every conv spectrally normalised, and is the discriminator the hinge loss
and spectral norm were tuned with. Widths follow ``width``: width, 2*width, ... per halving,
doubled once more at the last conv (64, 128, 256 and 512 for 32 px and width 64, as in the
paper). Same real/synthetic and class heads as nets/discriminator.py.
"""

from __future__ import annotations

import torch.nn.utils.parametrizations as param
from torch import nn

from dshgan.nets.discriminator import TwoHeadDiscriminator

SLOPE = 0.1  # LeakyReLU slope of the paper's Table 3


def _conv(cin: int, cout: int, kernel: int, stride: int) -> list[nn.Module]:
    return [param.spectral_norm(nn.Conv2d(cin, cout, kernel, stride=stride, padding=1)),
            nn.LeakyReLU(SLOPE, inplace=True)]


class SNGANDiscriminator(TwoHeadDiscriminator):
    def __init__(self, num_classes: int, image_size: int = 32, width: int = 64):
        if image_size < 8 or image_size % 4 or (image_size // 4) & (image_size // 4 - 1):
            raise ValueError(f"discriminator image_size must be 4 * 2^k >= 8, got {image_size}")
        layers: list[nn.Module] = []
        cin, size, cout = 3, image_size, width
        while size > 4:
            layers += [*_conv(cin, cout, 3, 1), *_conv(cout, cout, 4, 2)]
            cin, cout, size = cout, cout * 2, size // 2
        layers += _conv(cin, cout, 3, 1)
        super().__init__(layers, cout * size * size, num_classes)
