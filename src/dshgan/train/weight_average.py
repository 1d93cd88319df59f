"""An exponential moving average of a net's weights, kept beside the net being trained.

Why: with 5,000 labels the validation mAP still moves by about 0.01 from one late epoch to the
next (docs/experiments/2026-11-29-cifar10-plus-levers.md, "Seventh run"); an average of the
recent weights is a smoother, often better-generalising model at no training cost (Polyak and
Juditsky, 1992; the "EMA" of mean-teacher and FixMatch). The average is what gets validated,
kept and evaluated; the optimiser still steps the raw weights. Measured (same log, "Ninth run"):
well ahead of the raw weights mid-schedule, level with them once the one-cycle learning rate
has annealed.

Early on, the effective decay is ``min(decay, (1 + t) / (10 + t))`` after ``t`` updates, so the
average is not dominated by the ImageNet initialisation it starts from. Integer buffers (batch
norm's step counter) are copied, not averaged, and a tensor that equals its average (a frozen
layer) is left as it is, so frozen layers stay bit for bit the same as the net's.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """``shadow`` is a frozen copy of ``net`` holding the average; call :meth:`update` after
    every optimiser step."""

    def __init__(self, net: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the weight-average decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.shadow = copy.deepcopy(net).eval().requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        """shadow <- d * shadow + (1 - d) * net, tensor by tensor (integers copied)."""
        d = self.current_decay()
        live = net.state_dict()
        for name, average in self.shadow.state_dict().items():
            value = live[name].detach()
            if not average.dtype.is_floating_point:
                average.copy_(value)
            elif not torch.equal(average, value):  # d * w + (1 - d) * w can round away from w
                average.mul_(d).add_(value.to(average.dtype), alpha=1.0 - d)
        self.updates += 1

    def state_dict(self) -> dict:
        """What a checkpoint needs to continue the average exactly."""
        return {"decay": self.decay, "updates": self.updates,
                "shadow": self.shadow.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state["decay"] != self.decay:
            raise ValueError(f"the checkpoint averaged weights with decay {state['decay']}, "
                             f"the config asks for {self.decay}")
        self.updates = int(state["updates"])
        self.shadow.load_state_dict(state["shadow"])
