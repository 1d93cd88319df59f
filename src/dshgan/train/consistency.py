"""Consistency on unlabelled images: confident predictions on a weak view teach a strong view.

Our extension beyond the paper (after FixMatch, Sohn et al., NeurIPS 2020), a second way to use
the unlabelled pool besides the GAN and self-training: inside every stage-2 step, a batch of
unlabelled images is seen twice. The weak view (translation and flip) is predicted without
gradient; where the classification stream is confident, its prediction becomes the target of the
strong view (translation, flip, colour jitter, cutout): cross-entropy for the classification
stream, and binary cross-entropy toward the weak view's code for every hash head, so an image and
its distortions land on the same code. Unlike a self-training round this needs no restart and
sees the pool from the first epoch (few images pass the threshold early on).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from dshgan.image_tensors import to_tensor_images
from dshgan.losses.classification import classification_loss
from dshgan.nets.hashing_net import HashingNet
from dshgan.train.image_tensors import augment


def strong_augment(images: torch.Tensor, generator: torch.Generator,
                   jitter: float = 0.4) -> torch.Tensor:
    """Translation and flip, then brightness, contrast and saturation jitter, then cutout.

    ``images`` are (n, 3, H, W) in [-1, 1]; the result stays in [-1, 1]. Each factor is drawn
    per image, uniform in [1 - jitter, 1 + jitter]; the cutout square has half the image's side
    and a random centre (clipped at the border), filled with 0 (mid-grey).
    """
    x = augment(images, generator)
    n, _, h, w = x.shape

    def factors():
        return (1 + jitter * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1)).to(x.device)

    x = (x + 1) / 2  # [0, 1] for the colour operations
    x = x * factors()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factors() + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * factors() + grey
    x = x.clamp(0, 1) * 2 - 1
    cy = torch.randint(0, h, (n,), generator=generator).to(x.device)
    cx = torch.randint(0, w, (n,), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = (((rows - cy[:, None, None]).abs() < h // 4)
              & ((cols - cx[:, None, None]).abs() < w // 4))
    return x.masked_fill(inside[:, None], 0.0)


class ConsistencyTerm(NamedTuple):
    loss: torch.Tensor  # averaged over the whole unlabelled batch (unconfident images add 0)
    confident: float  # share of the batch above the threshold


def confident_targets(logits: torch.Tensor, multi_label: bool,
                      threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask, {0,1} targets) from the weak view's class logits.

    Single-label: the top class has probability >= threshold; multi-label: every concept is
    decided (p >= threshold or p <= 1 - threshold). The rule of ``select_pseudo_labels``, less
    its per-class cap and its "at least one concept present" condition."""
    if multi_label:
        probs = torch.sigmoid(logits)
        mask = ((probs >= threshold) | (probs <= 1 - threshold)).all(dim=1)
        return mask, (probs >= 0.5).float()
    probs = torch.softmax(logits, dim=1)
    top, which = probs.max(dim=1)
    return top >= threshold, F.one_hot(which, logits.shape[1]).float()


def consistency_term(net: HashingNet, weak: torch.Tensor, strong: torch.Tensor,
                     multi_label: bool, threshold: float) -> ConsistencyTerm:
    """The loss of one unlabelled batch given its weak and strong views (same images, same order)."""
    was_training = net.training
    with torch.no_grad():
        net.eval()  # the targets come from the net as it would encode the image
        target_out = net(weak)
        net.train(was_training)
    mask, targets = confident_targets(target_out.class_logits, multi_label, threshold)
    if not mask.any():
        return ConsistencyTerm(weak.new_zeros(()), 0.0)
    out = net(strong[mask])
    cls = classification_loss(out.class_logits, targets[mask], multi_label)
    codes = {b: (h[mask] > 0.5).float() for b, h in target_out.hash.items()}
    hashing = torch.stack([F.binary_cross_entropy(h.clamp(1e-6, 1 - 1e-6), codes[b])
                           for b, h in out.hash.items()]).mean()
    share = float(mask.float().mean())
    return ConsistencyTerm((cls + hashing) * share, share)


class PoolConsistency:
    """The consistency term of one step on a batch drawn from the unlabelled pool.

    The pool is only indexed by a batch of rows, never copied whole; its rows, then the weak
    view's and the strong view's augmentations, are drawn from ``rng`` in that order."""

    def __init__(self, pool, batch_size: int, threshold: float, multi_label: bool,
                 rng: torch.Generator, device: torch.device):
        self.pool, self.batch_size, self.threshold = pool, batch_size, threshold
        self.multi_label, self.rng, self.device = multi_label, rng, device

    def __call__(self, net: HashingNet) -> ConsistencyTerm:
        pick = torch.randint(len(self.pool), (self.batch_size,), generator=self.rng).numpy()
        u = to_tensor_images(self.pool[pick], self.device)
        return consistency_term(net, augment(u, self.rng), strong_augment(u, self.rng),
                                self.multi_label, self.threshold)
