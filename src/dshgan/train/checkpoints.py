"""Checkpoint files and the random states they carry, so a killed run resumes bit for bit."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch

from dshgan.io_utils import atomic_write_bytes


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
