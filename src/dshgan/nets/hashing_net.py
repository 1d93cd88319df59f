"""The DSH-GAN hashing network (Qiu et al., SIGIR 2017, Sec. 3.2): one shared CNN, three streams.

- adversary stream: is the input real or synthetic (one logit);
- hash stream: sigmoid outputs in [0, 1]^K, the bit is output > 0.5; one head per code length, so
  several lengths can share one trunk when the budget asks for it;
- classification stream: class logits (softmax or per-label sigmoid, decided by the loss).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from dshgan.nets.registry import create_backbone


class HashingOutput(NamedTuple):
    real_logit: torch.Tensor  # (n,)
    hash: dict[int, torch.Tensor]  # bits -> (n, bits) in [0, 1]
    class_logits: torch.Tensor  # (n, num_classes)


class HashingNet(nn.Module):
    def __init__(
        self,
        backbone: str,
        bits: list[int] | tuple[int, ...],
        num_classes: int,
        hidden_dim: int = 512,
        backbone_kwargs: dict | None = None,
    ):
        super().__init__()
        if not bits or any(b < 1 for b in bits):
            raise ValueError(f"bits must be a non-empty list of positive ints, got {bits}")
        self.backbone = create_backbone(backbone, **(backbone_kwargs or {}))
        self.bits = sorted(int(b) for b in bits)
        self.num_classes = num_classes
        self.shared = nn.Sequential(
            nn.Linear(self.backbone.feature_dim, hidden_dim), nn.ReLU(inplace=True), nn.Dropout(0.2)
        )
        self.adversary_head = nn.Linear(hidden_dim, 1)
        self.hash_heads = nn.ModuleDict({str(b): nn.Linear(hidden_dim, b) for b in self.bits})
        self.class_head = nn.Linear(hidden_dim, num_classes)

    def _resize(self, images: torch.Tensor) -> torch.Tensor:
        size = self.backbone.input_size
        if images.shape[-1] != size or images.shape[-2] != size:
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
        return images

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.shared(self.backbone.forward_features(self._resize(images)))

    @property
    def has_frozen_part(self) -> bool:
        """Whether ``prefix`` applies: the backbone splits into a frozen part and the rest."""
        return (hasattr(self.backbone, "forward_prefix")
                and getattr(self.backbone, "frozen_blocks", None) is not None)

    def prefix(self, images: torch.Tensor) -> torch.Tensor:
        """The backbone's frozen part on resized images (only backbones with ``forward_prefix``)."""
        if not hasattr(self.backbone, "forward_prefix"):
            raise ValueError(f"backbone {type(self.backbone).__name__} has no frozen part to cache")
        return self.backbone.forward_prefix(self._resize(images))

    def forward_from_prefix(self, prefix: torch.Tensor) -> HashingOutput:
        """``forward`` from ``prefix``'s output: what a cache of the frozen part feeds."""
        return self._streams(self.shared(self.backbone.forward_suffix(prefix)))

    def forward(self, images: torch.Tensor) -> HashingOutput:
        return self._streams(self.features(images))

    def forward_real_and_synthetic(self, real: torch.Tensor, synthetic: torch.Tensor
                                   ) -> HashingOutput:
        """``forward(torch.cat([real, synthetic]))`` (the same numbers, to float rounding) in
        less memory when the backbone has a frozen part.

        Why: synthetic images require grad (the generator learns through them), and one such
        image in a concatenated batch makes autograd keep the frozen part's activations for the
        whole batch: about 3.5 GB for a step of 96 images at 128 px. Here the frozen part runs on
        the real images without grad, and on the synthetic ones under activation checkpointing
        (recomputed in the backward pass), so it keeps only its inputs.
        """
        if not self.has_frozen_part:
            return self(torch.cat([real, synthetic]))
        with torch.no_grad():
            real_prefix = self.prefix(real)
        if synthetic.requires_grad and torch.is_grad_enabled():
            synthetic_prefix = checkpoint(self.prefix, synthetic, use_reentrant=False)
        else:
            synthetic_prefix = self.prefix(synthetic)
        return self.forward_from_prefix(torch.cat([real_prefix, synthetic_prefix]))

    def _streams(self, h: torch.Tensor) -> HashingOutput:
        return HashingOutput(
            real_logit=self.adversary_head(h).squeeze(1),
            hash={b: torch.sigmoid(self.hash_heads[str(b)](h)) for b in self.bits},
            class_logits=self.class_head(h),
        )

    @torch.no_grad()
    def encode(self, images: torch.Tensor, bits: int) -> torch.Tensor:
        """Binary codes {0, 1} (uint8) of one code length: hash output > 0.5."""
        if bits not in self.bits:
            raise ValueError(f"this net has no {bits}-bit head; it has {self.bits}")
        h = self.features(images)
        return (torch.sigmoid(self.hash_heads[str(bits)](h)) > 0.5).to(torch.uint8)
