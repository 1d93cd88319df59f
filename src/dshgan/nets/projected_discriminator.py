"""A discriminator on frozen ImageNet features, an opt-in stage-1 discriminator
(``gan.discriminator: projected``), after Projected GANs (Sauer et al., NeurIPS 2021).

Why: a discriminator trained from scratch on 5,000 labelled images learns slowly, and a GAN on
a CPU budget gets a few thousand steps. Projected GANs judge images in the feature space of a
frozen pretrained net (they used EfficientNet-Lite too) and converge many times faster. The
images are resized to ``feature_size``, run through EfficientNet-Lite0's frozen stem and blocks
(ImageNet batch-norm statistics, no dropout), and four of its feature maps (strides 4, 8, 16
and 32) go through fixed random 1x1 projections (the paper's cross-channel mixing; its
cross-scale mixing is left out to save time) into small trained heads, one per scale. Each
scale gives one real/synthetic logit per image; the class head reads the deepest scale's trained
features. G's gradients pass through the frozen net to the pixels.

Caveat for measuring it: the generator metrics (metrics/generative) use the same frozen trunk,
so a G trained against this D is judged partly by the features it was trained to match; the
pixel-trained classifier (``--pixel-probe`` of the lever benchmark) is the independent check.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torch.nn.utils.parametrizations as param
from torch import nn

from dshgan.nets.discriminator import DiscriminatorOutput
from dshgan.nets.efficientnet_lite import EfficientNetLite0

# Blocks of EfficientNet-Lite0 after which a feature map is read: the last block at strides 4,
# 8, 16 and 32 (24, 40, 112 and 320 channels), the taps of Projected GANs.
TAPS = (2, 4, 10, 15)
TAP_CHANNELS = (24, 40, 112, 320)
SLOPE = 0.2


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [param.spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)),
            nn.LeakyReLU(SLOPE, inplace=True)]


class ScaleHead(nn.Module):
    """One scale's trained part: halve to at most 4x4, a 3x3 conv, then a 1x1 conv to a
    logit map averaged to one logit per image. ``features`` is the map before the last conv."""

    def __init__(self, cin: int, size: int, width: int):
        super().__init__()
        layers: list[nn.Module] = []
        while size > 4:
            layers += _down(cin, width)
            cin, size = width, size // 2
        layers += [param.spectral_norm(nn.Conv2d(cin, width, 3, padding=1)),
                   nn.LeakyReLU(SLOPE, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.logit = param.spectral_norm(nn.Conv2d(width, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.logit(h).mean(dim=(1, 2, 3)), h


class ProjectedDiscriminator(nn.Module):
    """``real_logit`` is (n, 4): one logit per scale; the adversarial losses average over them
    (one loss per scale, as in the paper)."""

    def __init__(self, num_classes: int, image_size: int = 32, width: int = 64,
                 feature_size: int = 64, pretrained: bool = True, projection_seed: int = 0):
        super().__init__()
        if feature_size < 32 or feature_size % 32:
            raise ValueError(f"feature_size must be a multiple of 32, got {feature_size}")
        # The hashing trunk's loader (ImageNet weights from the installed package; without
        # them, tests get the same shapes); only its stem and blocks are kept.
        net = EfficientNetLite0(pretrained=pretrained, channels_last=False).net
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(net._blocks[: TAPS[-1] + 1])
        self.image_size, self.feature_size = image_size, feature_size
        # Fixed random projections (cross-channel mixing): buffers, so they are saved with D and
        # never trained; their own seed keeps the global random stream untouched.
        rng = torch.Generator().manual_seed(projection_seed)
        widths = [min(width * 2**i, 4 * width) for i in range(len(TAPS))]
        for i, (cin, cout) in enumerate(zip(TAP_CHANNELS, widths, strict=True)):
            weight = torch.randn(cout, cin, 1, 1, generator=rng) * (2.0 / cin) ** 0.5
            self.register_buffer(f"projection{i}", weight)
        sizes = [feature_size // s for s in (4, 8, 16, 32)]
        self.heads = nn.ModuleList(
            ScaleHead(c, s, w) for c, s, w in zip(widths, sizes, widths, strict=True))
        self.class_head = nn.Linear(widths[-1], num_classes)
        self.feature_dims = tuple(widths)
        for p in [*self.stem.parameters(), *self.blocks.parameters()]:
            p.requires_grad_(False)
        self.stem.to(memory_format=torch.channels_last)
        self.blocks.to(memory_format=torch.channels_last)
        self.train()

    def train(self, mode: bool = True) -> ProjectedDiscriminator:
        super().train(mode)
        self.stem.eval()  # the frozen net keeps ImageNet statistics and runs without drop-connect
        self.blocks.eval()
        return self

    def frozen_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The four feature maps of the frozen net (images in [-1, 1], Lite's input range)."""
        if images.shape[-1] != self.feature_size:
            images = F.interpolate(images, size=self.feature_size, mode="bilinear",
                                   align_corners=False)
        # NHWC: oneDNN's depthwise and 1x1 convolutions run fastest in it (nets/efficientnet_lite.py)
        x = self.stem(images.contiguous(memory_format=torch.channels_last))
        maps = []
        for idx, block in enumerate(self.blocks):
            x = block(x)
            if idx in TAPS:
                maps.append(x)
        return maps

    def forward(self, images: torch.Tensor) -> DiscriminatorOutput:
        logits, pooled = [], []
        for i, (x, head) in enumerate(zip(self.frozen_features(images), self.heads, strict=True)):
            logit, h = head(F.conv2d(x, getattr(self, f"projection{i}")))
            logits.append(logit)
            pooled.append(h.mean(dim=(2, 3)))
        return DiscriminatorOutput(torch.stack(logits, 1), self.class_head(pooled[-1]),
                                   tuple(pooled))
