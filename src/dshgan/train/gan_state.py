"""What stage 1 carries from step to step, and saves: the two nets, their optimisers, the
generator's weight average (when ``gan.ema_decay`` > 0), the step, the loss history and the batch
generator's state; a stopped stage 1 resumes from it."""

from __future__ import annotations

from pathlib import Path

import torch

from dshgan.config import GANConfig
from dshgan.nets.class_projection import ClassProjection
from dshgan.nets.discriminator import Discriminator
from dshgan.nets.generator import ConditionalGenerator
from dshgan.nets.projected_discriminator import ProjectedDiscriminator
from dshgan.nets.sngan_discriminator import SNGANDiscriminator
from dshgan.nets.twin_classifier import TwinClassifier
from dshgan.train.checkpoints import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from dshgan.train.diff_augment import parse_policy
from dshgan.train.distributed import average_buffers, checkpoint_rng, is_main, own_rng
from dshgan.train.runtime import logger
from dshgan.train.training_clock import TrainingClock
from dshgan.train.weight_average import WeightAverage

# gan.discriminator's names, each with how it is built from the config (only the projected D
# reads feature_size).
DISCRIMINATORS = {
    "dcgan": lambda cfg, classes, size: Discriminator(classes, size, cfg.width),
    "sngan": lambda cfg, classes, size: SNGANDiscriminator(classes, size, cfg.width),
    "projected": lambda cfg, classes, size: ProjectedDiscriminator(
        classes, size, cfg.width, feature_size=cfg.feature_size),
}


def build_generator(cfg: GANConfig, num_classes: int, image_size: int) -> ConditionalGenerator:
    """G as ``cfg`` describes it; model.pt's loader rebuilds it with this too."""
    return ConditionalGenerator(num_classes, cfg.noise_dim, image_size, cfg.width,
                                upsample=cfg.upsample, conditioning=cfg.conditioning)


def build_gan(cfg: GANConfig, num_classes: int, image_size: int):
    generator = build_generator(cfg, num_classes, image_size)
    if cfg.discriminator not in DISCRIMINATORS:
        raise ValueError(f"gan.discriminator must be one of {list(DISCRIMINATORS)}, "
                         f"got {cfg.discriminator!r}")
    discriminator = DISCRIMINATORS[cfg.discriminator](cfg, num_classes, image_size)
    if cfg.twin_classifier_weight > 0:
        discriminator = TwinClassifier(discriminator, num_classes)
    if cfg.class_projection:
        discriminator = ClassProjection(discriminator, num_classes)
    return generator, discriminator


class GANState:
    """G, D, their Adam optimisers (D's at ``lr_d`` when set: the two time-scale rule, Heusel
    et al. 2017) and G's average; ``batches`` draws every random number of stage 1."""

    def __init__(self, cfg: GANConfig, num_classes: int, image_size: int, device: torch.device,
                 seed: int):
        self.cfg = cfg
        self.generator, self.discriminator = build_gan(cfg, num_classes, image_size)
        self.generator.to(device)
        self.discriminator.to(device)
        betas = (cfg.beta1, 0.999)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas)
        lr_d = cfg.lr if cfg.lr_d is None else cfg.lr_d
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas)
        # buffers copied and the warm-up counted from 1: stage 1's average as it has always been
        self.ema = (WeightAverage(self.generator, cfg.ema_decay, buffers="copy", warmup_start=1)
                    if cfg.ema_decay > 0 else None)
        self.batches = torch.Generator().manual_seed(seed)
        self.diff_augment = parse_policy(cfg.diff_augment)  # D's input transforms, parsed once
        self.history: dict[str, list[float]] = {"d_loss": [], "g_loss": [], "d_class_acc": []}
        self.step = 0
        self.clock = TrainingClock()  # seconds trained, every sitting together

    def resume(self, path: Path, device: torch.device) -> None:
        """Continue from ``path`` when it exists (a finished stage 1 is just loaded)."""
        if not path.exists():
            return
        state = load_checkpoint(path, device)
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None:
            if state.get("generator_ema") is None:
                raise ValueError(f"{path} kept no average of G (it was trained with ema_decay 0); "
                                 "set gan.ema_decay: 0 or start stage 1 afresh")
            self.ema.load_state_dict(state["generator_ema"])
        self.history, self.step = state["history"], state["step"]
        self.clock = TrainingClock.resumed(state)
        set_rng_state(own_rng(state, path), self.batches)
        logger.info("stage 1: resumed from %s at step %d/%d", path, self.step, self.cfg.steps)

    def save(self, path: Path) -> None:
        """Every rank calls it (their batch-norm statistics are averaged and their random
        states gathered); rank 0 writes."""
        average_buffers(self.generator, self.discriminator, self.ema and self.ema.shadow)
        rng = checkpoint_rng(rng_state(self.batches))
        seconds = self.clock.for_checkpoint()
        if not is_main():
            return
        save_checkpoint(path, {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "generator_ema": None if self.ema is None else self.ema.state_dict(),
            "step": self.step, "history": self.history, **rng, "config": self.cfg.__dict__,
            "train_seconds": seconds,
        })

    def handed_on(self) -> ConditionalGenerator:
        """The generator stage 1 returns: G's average when there is one, else G itself."""
        return self.generator if self.ema is None else self.ema.trainable_copy(self.generator)
