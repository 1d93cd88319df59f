"""Where a run stands inside an epoch, so that a checkpoint can be written mid-epoch and a
stopped run resumes at the step it had reached instead of at the start of the epoch.

Why: one epoch of stage 2 on CIFAR-10 takes about 16 minutes on two CPU cores, and an epoch
over a large collection of one's own images far longer; with checkpoints only at epoch ends, a
run stopped near the end of an epoch lost all of it. The position is the epoch's order of the
training rows (drawn once at its start) and the number of its steps done; every random state
is in the checkpoint beside it, so the rest of the epoch draws what it would have drawn.

Checkpoints come every ``CHECKPOINT_EVERY_STEPS`` steps within an epoch (and at its end). A
count of steps, not minutes, so that every rank under torchrun decides alike without a message
(writing a checkpoint gathers every rank's random state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# About every 5 minutes for the bundled CIFAR-10 config on two cores (about 6 s a step); a
# checkpoint takes well under a second there. Shorter epochs end before the first one.
CHECKPOINT_EVERY_STEPS = 50


@dataclass
class EpochPosition:
    """An epoch under way: its order of training rows (the same on every rank) and the number
    of its steps done."""

    order: torch.Tensor
    done: int = 0

    def state(self) -> dict:
        return {"order": self.order, "done": self.done}

    @classmethod
    def from_state(cls, state: dict | None) -> EpochPosition | None:
        return None if state is None else cls(state["order"], int(state["done"]))


def start_or_continue(saved: EpochPosition | None,
                      draw_order: Callable[[], torch.Tensor]) -> EpochPosition:
    """The epoch a mid-epoch checkpoint stopped in, or a new one (its order drawn now, from the
    random state the previous epoch left, as a run without checkpoints draws it)."""
    return saved if saved is not None else EpochPosition(draw_order())


def checkpoint_due(done: int, steps_per_epoch: int,
                   every: int = CHECKPOINT_EVERY_STEPS) -> bool:
    """A mid-epoch checkpoint after ``done`` steps (the epoch's end writes its own; ``every``
    <= 0: none within an epoch)."""
    return every > 0 and done % every == 0 and done < steps_per_epoch
