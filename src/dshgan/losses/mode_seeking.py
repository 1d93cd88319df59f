"""Mode-seeking regularisation (Mao et al., "Mode Seeking Generative Adversarial Networks for
Diverse Image Synthesis", CVPR 2019), an opt-in stage-1 lever (``gan.mode_seeking_weight``).

Why: a conditional G that learns to ignore its noise makes one image per label (mode collapse),
which is what our stage 1 does on CIFAR-10. Pairs of images asked for the same labels with
different noise are pushed apart, in proportion to how far apart their noise is:

    ratio = mean|G(z1, y) - G(z2, y)| / mean|z1 - z2|,   loss = 1 / (ratio + eps)

so G lowers its loss by making the noise matter.
"""

from __future__ import annotations

import torch

EPS = 1e-5


def mode_seeking_loss(images_a: torch.Tensor, images_b: torch.Tensor, noise_a: torch.Tensor,
                      noise_b: torch.Tensor) -> torch.Tensor:
    """``images_a[i]`` and ``images_b[i]`` were made for the same labels from ``noise_a[i]`` and
    ``noise_b[i]``; the mean over pairs of 1 / (image distance over noise distance + eps)."""
    if images_a.shape != images_b.shape or noise_a.shape != noise_b.shape:
        raise ValueError("mode seeking compares pairs: both halves must have the same shape")
    image_gap = (images_a - images_b).abs().flatten(1).mean(1)
    noise_gap = (noise_a - noise_b).abs().mean(1)
    return (1.0 / (image_gap / noise_gap + EPS)).mean()
