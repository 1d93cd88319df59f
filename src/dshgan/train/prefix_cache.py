"""A few augmented views of every labelled image, pushed once through the trunk's frozen part.

Why: with the first blocks of the pretrained trunk frozen, their forward pass is a fixed function
of the augmented image, and at 128 px with 8 trainable blocks it is about half of a stage-2 step
(``benchmarks/bench_trainable_blocks.py``). Computing it once for ``views`` augmentations of each
labelled image, and drawing one of them whenever the image enters a triplet, trades augmentation
variety (``views`` per image instead of 81 translations x 2 flips) for that half. An option of
ours (``hashing.cached_views``), not the paper's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from dshgan.image_tensors import to_tensor_images
from dshgan.nets.hashing_net import HashingNet


class CachedViews:
    """``maps[v, i]`` is the frozen part's output for view ``v`` of image ``i``."""

    def __init__(self, maps: torch.Tensor):
        if maps.dim() != 5 or maps.shape[0] < 1:
            raise ValueError(f"maps must be (views, images, C, H, W), got {tuple(maps.shape)}")
        self.maps = maps

    @property
    def views(self) -> int:
        return self.maps.shape[0]

    @classmethod
    @torch.no_grad()
    def build(cls, net: HashingNet, images: np.ndarray, views: int,
              augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
              generator: torch.Generator, device: torch.device, batch_size: int = 128,
              progress: bool = False) -> CachedViews:
        """Views are drawn view by view, batch by batch, from ``generator`` (so rebuilding with
        the same seed on resume gives the same cache)."""
        if views < 1:
            raise ValueError(f"views must be >= 1, got {views}")
        was_training = net.training
        net.eval()  # the frozen part must run as in training: batch norm on ImageNet statistics
        maps = None
        bar = tqdm(total=views * len(images), desc="cache frozen trunk", disable=not progress)
        for v in range(views):
            for start in range(0, len(images), batch_size):
                x = augment(to_tensor_images(images[start:start + batch_size], device), generator)
                out = net.prefix(x)
                if maps is None:
                    maps = torch.empty((views, len(images), *out.shape[1:]), dtype=out.dtype,
                                       device=device)
                maps[v, start:start + len(out)] = out
                bar.update(len(out))
        bar.close()
        net.train(was_training)
        return cls(maps)

    def sample(self, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One randomly drawn view of each image in ``rows``, ready for ``forward_from_prefix``."""
        pick = torch.randint(self.views, (len(rows),), generator=generator)
        return self.maps[pick.to(self.maps.device), rows.to(self.maps.device)]
