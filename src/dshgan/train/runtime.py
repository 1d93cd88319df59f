"""Where and how reproducibly a run computes: device choice, seeding, the log file."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import torch

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
