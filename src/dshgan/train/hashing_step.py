"""What one stage-2 step changes: the net's and the generator's weights (simultaneous gradient
steps from one forward pass), the learning-rate schedule, and the weight average. Under torchrun
both sets of gradients are averaged over the ranks (train/distributed.py)."""

from __future__ import annotations

from pathlib import Path

import torch

from dshgan.config import HashingConfig
from dshgan.nets.generator import ConditionalGenerator
from dshgan.nets.hashing_net import HashingNet
from dshgan.train.distributed import average_buffers, average_gradients, world_size
from dshgan.train.hashing_losses import LossTerms
from dshgan.train.hashing_setup import net_optimiser
from dshgan.train.weight_average import WeightAverage


class HashingUpdate:
    """The optimisers of the net (AdamW, one-cycle) and of the generator (Adam, only when it is
    used and not frozen), and the weight average when ``weight_average_decay`` > 0."""

    def __init__(self, cfg: HashingConfig, net: HashingNet,
                 generator: ConditionalGenerator | None, device: torch.device, total_steps: int):
        self.net_params, self.opt_net, self.schedule = net_optimiser(net, cfg, total_steps)
        self.updates_generator = cfg.use_synthetic and not cfg.freeze_generator
        self.generator = generator
        if generator is not None:
            generator.to(device).train(self.updates_generator)
            generator.requires_grad_(self.updates_generator)
        self.opt_g = (torch.optim.Adam(generator.parameters(), lr=cfg.generator_lr,
                                       betas=(0.5, 0.999)) if self.updates_generator else None)
        self.average = (WeightAverage(net, cfg.weight_average_decay)
                        if cfg.weight_average_decay else None)

    def kept(self, net: HashingNet) -> HashingNet:
        """The weights validation scores and the run keeps: the average when there is one."""
        return self.average.shadow if self.average is not None else net

    def apply(self, net: HashingNet, terms: LossTerms | None, weight: float = 1) -> bool:
        """One update from ``terms`` (None: this rank's anchors had no triplet); whether it
        stepped. With several processes both sets of gradients, the net's and the generator's,
        are averaged over the ranks, weighted by ``weight`` (this rank's anchors)."""
        if terms is None and world_size() == 1:
            return False
        g_params = list(self.generator.parameters()) if self.updates_generator else []
        grads, g_grads = [None] * len(self.net_params), [None] * len(g_params)
        if terms is not None:
            grads = torch.autograd.grad(terms.net, self.net_params,
                                        retain_graph=self.updates_generator, allow_unused=True)
            if self.updates_generator:
                g_grads = torch.autograd.grad(terms.generator, g_params, allow_unused=True)
        both, total = average_gradients([*self.net_params, *g_params], [*grads, *g_grads],
                                        weight)
        if total == 0:  # no rank had a triplet
            return False
        grads, g_grads = both[:len(self.net_params)], both[len(self.net_params):]
        if self.updates_generator:
            for p, g in zip(g_params, g_grads):
                p.grad = g
            self.opt_g.step()
        for p, g in zip(self.net_params, grads):
            p.grad = g
        self.opt_net.step()
        self.schedule.step()
        if self.average is not None:
            self.average.update(net)
        return True

    def average_buffers(self, net: HashingNet) -> None:
        """Batch-norm statistics of the net, the generator and the average, over the ranks."""
        average_buffers(net, self.generator,
                        self.average.shadow if self.average is not None else None)

    def state_dict(self) -> dict:
        g, opt_g, average = self.generator, self.opt_g, self.average
        return {"opt_net": self.opt_net.state_dict(), "schedule": self.schedule.state_dict(),
                "generator": g.state_dict() if g is not None else None,
                "opt_g": opt_g.state_dict() if opt_g is not None else None,
                "weight_average": average.state_dict() if average is not None else None}

    def load_state_dict(self, state: dict, path: str | Path) -> None:
        self.opt_net.load_state_dict(state["opt_net"])
        self.schedule.load_state_dict(state["schedule"])
        if self.generator is not None and state.get("generator") is not None:
            self.generator.load_state_dict(state["generator"])
        if self.opt_g is not None and state.get("opt_g") is not None:
            self.opt_g.load_state_dict(state["opt_g"])
        if self.average is not None:
            if state.get("weight_average") is None:
                raise ValueError(f"{path} was trained without a weight average; "
                                 "resume it with weight_average_decay: 0 or use a new --out")
            self.average.load_state_dict(state["weight_average"])
