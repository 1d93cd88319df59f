"""Image tensors in training: augmentation and resizing (the uint8 <-> tensor conversions are
``dshgan/image_tensors.py``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def augment(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random translation (reflect-padded crop) and horizontal flip, with torch ops only."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode="reflect")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None]).to(images.device)
    cols = (dx[:, None] + torch.arange(w)[None]).to(images.device)
    batch = torch.arange(n, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def resize_to(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(n, C, h, w) -> (n, C, *size), bilinear with ``align_corners=False``; the very same
    tensor when it already has that size (so equal sizes change no result, bit for bit).

    Why: the generator's images may be smaller than the real ones (real 128 px, synthetic 32 px)
    and one batch must hold both."""
    size = (int(size[0]), int(size[1]))
    if tuple(images.shape[-2:]) == size:
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)
