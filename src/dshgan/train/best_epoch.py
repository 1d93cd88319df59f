"""Which epoch a run keeps: the best validation mAP so far, with the history that records it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from dshgan.nets.hashing_net import HashingNet
from dshgan.train.epoch_position import EpochPosition
from dshgan.train.training_clock import TrainingClock


def track_best_epoch(net: HashingNet, val: dict[int, float], history: dict, best_score: float,
                     best_state: dict | None, loo: dict[int, float] | None = None
                     ) -> tuple[float, dict | None]:
    """Record one epoch's validation mAP; return (score, weights) of the best epoch so far.

    Both stage 2 and the deep baselines select their epoch this way (mean over code lengths);
    the kept epoch's index goes to ``history["best_epoch"]``. ``loo``, the leave-one-out view,
    is recorded beside it (``history["val_map_loo"]``) but does not choose.
    """
    if loo is not None:
        history.setdefault("val_map_loo", []).append({str(b): v for b, v in loo.items()})
    history["val_map"].append({str(b): v for b, v in val.items()})
    score = float(np.mean(list(val.values())))
    if score > best_score:
        history["best_epoch"] = len(history["val_map"]) - 1
        return score, copy.deepcopy(net.state_dict())
    return best_score, best_state


def leave_one_out_at_best_epoch(history: dict) -> float | None:
    """Mean leave-one-out validation mAP of the epoch ``track_best_epoch`` kept."""
    loo, best = history.get("val_map_loo") or [], history.get("best_epoch")
    if best is None or len(loo) != len(history["val_map"]):  # resumed from an older checkpoint
        return None
    return float(np.mean(list(loo[best].values())))


@dataclass
class TrainingProgress:
    """What a run has done so far, as its checkpoint stores it: epochs finished, the history,
    the best epoch's score and weights, and the position inside the epoch under way (None
    between epochs; train/epoch_position.py), and the seconds trained in all sittings
    (train/training_clock.py)."""

    history: dict
    epoch: int = 0
    best_score: float = -1.0
    best_state: dict | None = None
    position: EpochPosition | None = None
    clock: TrainingClock = field(default_factory=TrainingClock)

    def end_epoch(self) -> None:
        self.epoch += 1
        self.position = None

    def steps_done(self, steps_per_epoch: int) -> int:
        """Steps since the start, for a progress bar."""
        return self.epoch * steps_per_epoch + (self.position.done if self.position else 0)

    def state(self) -> dict:
        """The checkpoint's fields of this progress."""
        return {"epoch": self.epoch, "history": self.history, "best_score": self.best_score,
                "best_state": self.best_state,
                "position": self.position.state() if self.position else None,
                "train_seconds": self.clock.for_checkpoint()}

    @classmethod
    def from_state(cls, state: dict) -> TrainingProgress:
        """From a checkpoint (one written before positions existed holds none: an epoch end)."""
        return cls(state["history"], state["epoch"], state["best_score"], state["best_state"],
                   EpochPosition.from_state(state.get("position")), TrainingClock.resumed(state))

    def record_epoch(self, kept: HashingNet, val: dict[int, float],
                     loo: dict[int, float] | None) -> None:
        self.best_score, self.best_state = track_best_epoch(
            kept, val, self.history, self.best_score, self.best_state, loo)

    def finish(self, net: HashingNet) -> tuple[HashingNet, dict]:
        """The net at its best epoch, in eval mode, and the history with the best scores and
        the seconds trained (``train_seconds``, every sitting together)."""
        if self.best_state is not None:
            net.load_state_dict(self.best_state)
        self.history["best_val_map"] = self.best_score
        self.history["best_val_map_loo"] = leave_one_out_at_best_epoch(self.history)
        self.history["train_seconds"] = self.clock.at_checkpoint
        return net.eval(), self.history
