"""Differentiable augmentation for a GAN trained on few images (DiffAugment; Zhao, Liu, Lin, Zhu,
Han, NeurIPS 2020): the same random transforms on the real and the synthetic images the
discriminator sees, in its update and in the generator's, made of differentiable tensor ops so
the generator learns through them.

Why: with a few thousand labelled images the discriminator memorises them and stops giving the
generator a useful signal; augmenting only the real images would teach the generator to make
augmented-looking images instead. Policies, applied in this order: ``color`` (brightness,
saturation, contrast), ``translation`` (shift by up to 1/8 of the size, zero-filled), ``cutout``
(a zeroed square of half the size). Images are in [-1, 1]. Opt-in (``gan.diff_augment``); an
option of the GAN literature weighed for the stage-1 generator, not the paper's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"translation,cutout"`` -> ("translation", "cutout"); "" -> (); unknown names refused."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown}; use some of {list(POLICIES)}")
    return names


def _uniform(n: int, generator: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=generator).to(device)


def color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    n = len(x)
    x = x + (_uniform(n, generator, x.device) - 0.5)  # brightness, in [-1, 1] units
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(n, generator, x.device) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(n, generator, x.device) + 0.5) + mean  # contrast


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125
                ) -> torch.Tensor:
    """Shift each image by a whole number of pixels in [-s, s] (s = ratio x size), zeros in."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(-sx, sx + 1, (n,), generator=generator).to(x.device)
    padded = F.pad(x, (sx, sx, sy, sy))
    rows = (torch.arange(h, device=x.device)[None] + sy - dy[:, None])  # (n, h)
    cols = (torch.arange(w, device=x.device)[None] + sx - dx[:, None])  # (n, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ratio x size at a random place (it may reach over the border)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n,), generator=generator).to(x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n,), generator=generator).to(x.device)
    ys = torch.arange(h, device=x.device)[None, :] - (cy[:, None] - ch // 2)  # (n, h)
    xs = torch.arange(w, device=x.device)[None, :] - (cx[:, None] - cw // 2)
    inside = ((ys >= 0) & (ys < ch))[:, :, None] & ((xs >= 0) & (xs < cw))[:, None, :]
    return x * (~inside)[:, None].to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], generator: torch.Generator
                 ) -> torch.Tensor:
    """``x`` through each transform of ``policy`` (the very same tensor for an empty policy)."""
    for name in policy:
        x = TRANSFORMS[name](x, generator)
    return x
