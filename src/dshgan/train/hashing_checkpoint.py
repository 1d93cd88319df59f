"""Stage 2's checkpoint, written after every epoch and every few steps within one
(train/epoch_position.py): everything a killed run needs to continue bit for bit (weights,
optimisers, schedule, generator, weight average, history, best epoch, the position in the
epoch and every random state: each rank's, under torchrun)."""

from __future__ import annotations

from pathlib import Path

import torch

from dshgan.nets.hashing_net import HashingNet
from dshgan.train.best_epoch import TrainingProgress
from dshgan.train.checkpoints import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from dshgan.train.distributed import checkpoint_rng, is_main, own_rng
from dshgan.train.hashing_step import HashingUpdate


def save_hashing_checkpoint(path: Path, net: HashingNet, update: HashingUpdate,
                            progress: TrainingProgress, batches: torch.Generator,
                            bits: list[int]) -> None:
    """Every rank calls it (their random states are gathered); rank 0 writes."""
    rng = checkpoint_rng(rng_state(batches))
    if not is_main():
        return
    parts = update.state_dict()
    save_checkpoint(path, {
        "net": net.state_dict(), "opt_net": parts["opt_net"], "schedule": parts["schedule"],
        "generator": parts["generator"], "opt_g": parts["opt_g"], **progress.state(),
        **rng, "bits": bits, "weight_average": parts["weight_average"],
    })


def resume_hashing(path: Path, device: torch.device, net: HashingNet, update: HashingUpdate,
                   batches: torch.Generator) -> TrainingProgress | None:
    """Load ``path`` into the net, the update and the random states; None when there is none."""
    if not path.exists():
        return None
    state = load_checkpoint(path, device)
    net.load_state_dict(state["net"])
    update.load_state_dict(state, path)
    set_rng_state(own_rng(state, path), batches)
    return TrainingProgress.from_state(state)
