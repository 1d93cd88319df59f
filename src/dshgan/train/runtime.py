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


def limit_threads(threads: int | None = None) -> None:
    """One thread count for torch and numba: ``threads``, or torch's as it stands when None.

    Why numba too: numba's OpenMP layer shares torch's OpenMP runtime, and starting a numba
    kernel sets that runtime's thread count to numba's (every core by default). So torch, held
    to one thread by ``--threads 1``, ran on every core after the first validation pass (whose
    metrics are numba kernels), and three such runs sharing two cores ran each epoch about 3x
    slower than their first: six threads spinning at OpenMP barriers on two cores. numba's
    first call (here ``set_num_threads``) starts its threads, which can itself set the shared
    count to all of them: so numba is set first and torch after it, never the other way round
    (tests/train/test_runtime.py checks that order in a fresh process)."""
    import numba

    count = threads or torch.get_num_threads()
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    torch.set_num_threads(count)


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
