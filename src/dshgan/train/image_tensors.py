"""uint8 image arrays to the float tensors the nets take, and back; augmentation; resizing."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def to_tensor_images(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float (n, 3, H, W) in [-1, 1], the range the generator produces."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    return x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def to_uint8_images(images: torch.Tensor) -> np.ndarray:
    """Inverse of :func:`to_tensor_images`, for plots."""
    x = images.detach().clamp(-1, 1).add(1).mul(127.5).round().byte()
    return x.permute(0, 2, 3, 1).cpu().numpy()


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
