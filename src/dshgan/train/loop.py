"""What both training stages share: device choice, seeding, image batches, checkpoints."""

from __future__ import annotations

import io
import logging
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dshgan.io_utils import atomic_write_bytes

logger = logging.getLogger("dshgan")


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` takes the GPU when there is one; asking for ``cuda`` without one is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be auto, cpu or cuda[:N], got {device!r}")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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


def save_checkpoint(path: str | Path, state: dict) -> None:
    """torch.save through an atomic write, so a kill mid-save keeps the previous checkpoint."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, device: torch.device) -> dict:
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except Exception as err:  # torch raises several types for a damaged file
        raise RuntimeError(f"cannot read checkpoint {path}: {err}") from err


def rng_state(generator: torch.Generator) -> dict:
    return {"torch": torch.get_rng_state(), "batches": generator.get_state(),
            "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["batches"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def setup_logging(run_dir: str | Path) -> None:
    """Log to ``run_dir/train.log`` as well as the console (once per file)."""
    path = str(Path(run_dir) / "train.log")
    if any(getattr(h, "baseFilename", None) == str(Path(path).resolve()) for h in logger.handlers):
        return
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
