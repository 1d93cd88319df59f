"""Where stage 2's triplets come from: one interface, three sources.

A source is called with the net and a batch of anchor rows of the training set and returns the
net's outputs on the anchors, positives and negatives (stacked in that order) with their labels,
or None when no anchor of the batch has a triplet. Each source draws from the one random
generator the trainer hands it, in a fixed order, so a resumed run draws the same numbers.

- SyntheticTriplets: x+ = G(z, y), x- = G(z', y') with y' sharing no label with y (the paper).
- RealTriplets: a real labelled positive and negative (the "w/o synthetic images" ablation).
- CachedViewTriplets: real triplets whose images come as cached outputs of the trunk's frozen
  part (``hashing.cached_views``; see prefix_cache.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from dshgan.config import HashingConfig
from dshgan.image_tensors import to_tensor_images
from dshgan.nets.generator import ConditionalGenerator
from dshgan.nets.hashing_net import HashingNet, HashingOutput
from dshgan.train.consistency import strong_augment
from dshgan.train.hashing_data import HashingData
from dshgan.train.image_tensors import augment, resize_to
from dshgan.train.prefix_cache import CachedViews
from dshgan.train.triplets import sample_disjoint_labels, sample_matching

LABELLED_AUGMENTATIONS = {"weak": augment, "strong": strong_augment}
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class Triplets(NamedTuple):
    out: HashingOutput  # anchors, positives, negatives: rows [0, n), [n, 2n), [2n, 3n)
    y: torch.Tensor  # the anchors' (and positives') labels, (n, classes)
    y_neg: torch.Tensor  # the negatives' labels
    synthetic: bool  # positives and negatives come from the generator

    @property
    def n(self) -> int:
        return len(self.y)


def real_triplet_rows(y: torch.Tensor, idx: torch.Tensor, labels: torch.Tensor,
                      generator: torch.Generator
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each anchor, the row of a real labelled positive and negative; anchors lacking one
    (rare, dense multi-label) sit out: returns (keep mask, positives, negatives of the kept)."""
    pos_rows = sample_matching(y.cpu(), labels, True, generator, exclude=idx, allow_missing=True)
    neg_rows = sample_matching(y.cpu(), labels, False, generator, allow_missing=True)
    keep = (pos_rows >= 0) & (neg_rows >= 0)
    return keep, pos_rows[keep], neg_rows[keep]


class LabelledImages:
    """Rows of the labelled images as a float batch, augmented when ``augment`` is given."""

    def __init__(self, images: np.ndarray, augment: Augment | None, rng: torch.Generator,
                 device: torch.device):
        self.images, self.augment, self.rng, self.device = images, augment, rng, device

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        x = to_tensor_images(self.images[rows.numpy()], self.device)
        return self.augment(x, self.rng) if self.augment is not None else x


class SyntheticTriplets:
    """Real anchors; positives and negatives made by the generator, resized to the anchors'
    height and width (bilinear) when it makes smaller images."""

    def __init__(self, generator: ConditionalGenerator, images: LabelledImages,
                 labels: torch.Tensor, rng: torch.Generator, device: torch.device):
        self.generator, self.images, self.labels = generator, images, labels
        self.rng, self.device = rng, device

    def __call__(self, net: HashingNet, idx: torch.Tensor) -> Triplets:
        y = self.labels[idx].to(self.device)
        x = self.images(idx)
        y_neg = sample_disjoint_labels(y.cpu(), self.labels, self.rng).to(self.device)
        z = torch.randn(2 * len(idx), self.generator.noise_dim, generator=self.rng)
        synthetic = resize_to(self.generator(z.to(self.device), torch.cat([y, y_neg])),
                              x.shape[-2:])
        return Triplets(net.forward_real_and_synthetic(x, synthetic), y, y_neg, True)


class RealTriplets:
    """A real positive and negative of the labelled set for every anchor that has both."""

    def __init__(self, images: LabelledImages, labels: torch.Tensor, rng: torch.Generator,
                 device: torch.device):
        self.images, self.labels, self.rng, self.device = images, labels, rng, device

    def __call__(self, net: HashingNet, idx: torch.Tensor) -> Triplets | None:
        y = self.labels[idx].to(self.device)
        x = self.images(idx)
        keep, pos_rows, neg_rows = real_triplet_rows(y, idx, self.labels, self.rng)
        if not keep.any():
            return None
        x, y = x[keep.to(self.device)], y[keep.to(self.device)]
        y_neg = self.labels[neg_rows].to(self.device)
        x_pos, x_neg = self.images(pos_rows), self.images(neg_rows)
        return Triplets(net(torch.cat([x, x_pos, x_neg])), y, y_neg, False)


class CachedViewTriplets:
    """Real triplets, each image one of its cached views through the trunk's frozen part."""

    def __init__(self, views: CachedViews, labels: torch.Tensor, rng: torch.Generator,
                 device: torch.device):
        self.views, self.labels, self.rng, self.device = views, labels, rng, device

    def __call__(self, net: HashingNet, idx: torch.Tensor) -> Triplets | None:
        y = self.labels[idx].to(self.device)
        keep, pos_rows, neg_rows = real_triplet_rows(y, idx, self.labels, self.rng)
        if not keep.any():
            return None
        idx = idx[keep]
        y, y_neg = self.labels[idx].to(self.device), self.labels[neg_rows].to(self.device)
        prefixes = self.views.sample(torch.cat([idx, pos_rows, neg_rows]), self.rng)
        return Triplets(net.forward_from_prefix(prefixes), y, y_neg, False)


def triplet_source(cfg: HashingConfig, data: HashingData, net: HashingNet,
                   generator: ConditionalGenerator | None, rng: torch.Generator,
                   device: torch.device, seed: int, progress: bool = False):
    """The source ``cfg`` asks for. Cached views are built here, from their own generator
    (seed + 3): frozen weights never change, so a resumed run rebuilds the same cache."""
    labels = torch.from_numpy(data.train_labels).float()
    aug = LABELLED_AUGMENTATIONS[cfg.labelled_augment] if cfg.augment else None
    if cfg.cached_views:
        views = CachedViews.build(net, data.train_images, cfg.cached_views,
                                  aug if aug is not None else (lambda x, _: x),
                                  torch.Generator().manual_seed(seed + 3), device,
                                  progress=progress)
        return CachedViewTriplets(views, labels, rng, device)
    images = LabelledImages(data.train_images, aug, rng, device)
    if cfg.use_synthetic:
        return SyntheticTriplets(generator, images, labels, rng, device)
    return RealTriplets(images, labels, rng, device)
