"""uint8 image arrays to the float tensors the nets take, and back.

Why a module of its own, beside ``config`` and ``io_utils``: the pixel range [-1, 1] (the range
the generator produces) is the one convention every layer shares (training, the generator
metrics, plots), and a lower package must not import ``train`` to get it."""

from __future__ import annotations

import numpy as np
import torch


def to_tensor_images(images: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float (n, 3, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    return x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def to_uint8_images(images: torch.Tensor) -> np.ndarray:
    """Inverse of :func:`to_tensor_images` (values outside [-1, 1] clipped), e.g. for plots and
    for the generator's images as stored pixels."""
    x = images.detach().clamp(-1, 1).add(1).mul(127.5).round().byte()
    return x.permute(0, 2, 3, 1).cpu().numpy()
