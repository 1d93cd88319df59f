"""An exponential moving average of the stage-1 generator's weights (Yazıcı et al., "The
unusual effectiveness of averaging in GAN training", ICLR 2019), opt-in (``gan.ema_decay``).

Why: G's weights keep circling around an equilibrium instead of settling; their running average
sits nearer to it and makes better images at no training cost. The optimiser steps the live G;
the average, updated after each G step, is what stage 1 hands on (stage 2, the generator
metrics). ``avg <- d_t * avg + (1 - d_t) * w`` for each parameter after the t-th G step, with
a warm-up ``d_t = min(d, (1 + t) / (10 + t))`` (as TensorFlow's moving average with
``num_updates``): with a plain ``d`` = 0.999, a 700-step stage 1 would hand on an average still
half made of the untrained initial weights (0.999^700 = 0.5);
buffers (batch norm's running statistics and step counter) are copied from the live G, since an
average of running statistics would not describe the averaged weights any better. Under torchrun
the parameters are the same on every rank after the averaged update, so the average is too.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class GeneratorEMA:
    """``average`` is a frozen copy of the generator holding the average; call :meth:`update`
    after every optimiser step of the generator."""

    def __init__(self, generator: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"gan.ema_decay must be in (0, 1) for an average, got {decay}")
        self.decay = decay
        self.updates = 0
        self.average = copy.deepcopy(generator).requires_grad_(False)

    def current_decay(self) -> float:
        """The decay of the next update: the warm-up's until it reaches ``decay``."""
        t = self.updates + 1
        return min(self.decay, (1 + t) / (10 + t))

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        d = self.current_decay()
        self.updates += 1
        for avg, live in zip(self.average.parameters(), generator.parameters(), strict=True):
            avg.mul_(d).add_(live.detach(), alpha=1.0 - d)
        for avg, live in zip(self.average.buffers(), generator.buffers(), strict=True):
            avg.copy_(live)

    def generator(self, like: nn.Module) -> nn.Module:
        """A trainable copy of the average, in ``like``'s train/eval mode: what stage 2 tunes."""
        out = copy.deepcopy(self.average).requires_grad_(True)
        return out.train(like.training)

    def state_dict(self) -> dict:
        """What a checkpoint needs to continue the average exactly."""
        return {"decay": self.decay, "updates": self.updates,
                "average": self.average.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state["decay"] != self.decay:
            raise ValueError(f"the stage-1 checkpoint averaged G with ema_decay "
                             f"{state['decay']}, the config asks for {self.decay}")
        self.average.load_state_dict(state["average"])
        self.updates = state["updates"]
