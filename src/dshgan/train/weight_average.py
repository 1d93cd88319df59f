"""An exponential moving average of a net's weights, kept beside the net being trained; one
class for both stages, the optimiser still steps the live weights.

Why, stage 2 (``hashing.weight_average_decay``): with 5,000 labels the validation mAP still
moves by about 0.01 from one late epoch to the next
(docs/experiments/2026-11-29-cifar10-plus-levers.md, "Seventh run"); an average of the recent
weights is a smoother, often better-generalising model at no training cost (Polyak and
Juditsky, 1992; the "EMA" of mean-teacher and FixMatch). The average is what gets validated,
kept and evaluated. Measured (same log, "Ninth run"): well ahead of the raw weights
mid-schedule, level with them once the one-cycle learning rate has annealed.

Why, stage 1 (``gan.ema_decay``): G's weights keep circling around an equilibrium instead of
settling; their average sits nearer to it and makes better images (Yazıcı et al., "The unusual
effectiveness of averaging in GAN training", ICLR 2019). The average is what stage 1 hands on.

Early on, the effective decay is ``min(decay, (1 + t) / (10 + t))`` (as TensorFlow's moving
average with ``num_updates``), so the average is not dominated by the initial weights it starts
from: with a plain 0.999, a 700-step stage 1 would hand on an average still half made of them.
Integer buffers (batch norm's step counter) are copied, not averaged, and a tensor that equals
its average (a frozen layer) is left as it is, so frozen layers stay bit for bit the same as
the net's. Under torchrun the weights are the same on every rank after each step, so the
average is too.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """``shadow`` is a frozen copy of ``net`` holding the average; call :meth:`update` after
    every optimiser step.

    ``buffers``: "average" averages float buffers (batch norm's running statistics) like the
    weights (stage 2); "copy" copies them from the live net (stage 1, as it always has: an
    average of running statistics describes the averaged weights no better).
    ``warmup_start``: the ``t`` of the first update in the warm-up; stage 1 has always counted
    its updates from 1, stage 2 from 0, and each keeps its own so that results stay the same.
    """

    def __init__(self, net: nn.Module, decay: float, buffers: str = "average",
                 warmup_start: int = 0):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the weight-average decay must be in (0, 1), got {decay}")
        if buffers not in ("average", "copy"):
            raise ValueError(f"buffers must be 'average' or 'copy', got {buffers!r}")
        self.decay = decay
        self.warmup_start = warmup_start
        self.updates = 0
        self.shadow = copy.deepcopy(net).eval().requires_grad_(False)
        self._copied = {n for n, _ in self.shadow.named_buffers()} if buffers == "copy" else set()

    def current_decay(self) -> float:
        t = self.warmup_start + self.updates
        return min(self.decay, (1 + t) / (10 + t))

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        """shadow <- d * shadow + (1 - d) * net, tensor by tensor (integers copied)."""
        d = self.current_decay()
        live = net.state_dict()
        for name, average in self.shadow.state_dict().items():
            value = live[name].detach()
            if not average.dtype.is_floating_point or name in self._copied:
                average.copy_(value)
            elif not torch.equal(average, value):  # d * w + (1 - d) * w can round away from w
                average.mul_(d).add_(value.to(average.dtype), alpha=1.0 - d)
        self.updates += 1

    def trainable_copy(self, like: nn.Module) -> nn.Module:
        """A trainable copy of the average in ``like``'s train/eval mode: stage 1 hands it on
        for stage 2 to tune."""
        return copy.deepcopy(self.shadow).requires_grad_(True).train(like.training)

    def state_dict(self) -> dict:
        """What a checkpoint needs to continue the average exactly."""
        return {"decay": self.decay, "updates": self.updates,
                "shadow": self.shadow.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Also reads stage-1 checkpoints from before this class (``gan_ema.GeneratorEMA``),
        which named the average ``average``."""
        if state["decay"] != self.decay:
            raise ValueError(f"the checkpoint averaged weights with decay {state['decay']}, "
                             f"the config asks for {self.decay}")
        self.updates = int(state["updates"])
        self.shadow.load_state_dict(state["shadow"] if "shadow" in state else state["average"])
