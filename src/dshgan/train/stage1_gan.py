"""Stage 1: semi-supervised conditional GAN pre-training (Qiu et al., SIGIR 2017, Sec. 3.1).

Each step the discriminator sees a labelled real batch (real/synthetic and class outputs), an
unlabelled real batch (real/synthetic output only) and a synthetic batch; the generator is then
pushed to make images the discriminator calls real *and* classifies as the labels they were drawn
from (gan_step.py). Synthetic labels are drawn from the labelled set's label vectors, so
multi-label data gets label combinations that actually occur. The nets, optimisers and history
live in gan_state.py, with checkpoint and resume. Under torchrun every rank draws its share of
each batch from its own stream and the gradients are averaged (train/distributed.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from dshgan.config import GANConfig
from dshgan.nets.generator import ConditionalGenerator
from dshgan.train.distributed import broadcast_modules, rank_seed
from dshgan.train.gan_state import GANState, build_gan
from dshgan.train.gan_step import GANData, gan_step
from dshgan.train.runtime import logger

__all__ = ["build_gan", "train_gan"]


def train_gan(
    cfg: GANConfig,
    labelled_images: np.ndarray,
    labelled_labels: np.ndarray,
    unlabelled_images: np.ndarray,
    multi_label: bool,
    device: torch.device,
    checkpoint_path: str | Path,
    seed: int = 0,
    progress: bool = True,
    checkpoint_every: int = 200,
) -> tuple[ConditionalGenerator, nn.Module, dict]:
    """Train (or resume, or just load when finished) the GAN; returns G (its weight average
    when ``cfg.ema_decay`` > 0), D and the loss history, with ``train_seconds``: the seconds
    stage 1 trained in every sitting together (None after a checkpoint that predates that)."""
    checkpoint_path = Path(checkpoint_path)
    state = GANState(cfg, labelled_labels.shape[1], labelled_images.shape[1], device,
                     rank_seed(seed))
    broadcast_modules(state.generator, state.discriminator,
                      state.ema.shadow if state.ema is not None else None)
    state.resume(checkpoint_path, device)
    data = GANData(labelled_images, labelled_labels, unlabelled_images, multi_label)
    bar = tqdm(total=cfg.steps, initial=state.step, desc="stage 1 GAN", disable=not progress)
    state.generator.train()
    state.discriminator.train()
    while state.step < cfg.steps:
        losses = gan_step(state, data, device)
        state.step += 1
        state.history["d_loss"].append(losses.d_loss)
        state.history["g_loss"].append(losses.g_loss)
        if losses.d_class_acc is not None:
            state.history["d_class_acc"].append(losses.d_class_acc)
        bar.update(1)
        bar.set_postfix(d=f"{losses.d_loss:.3f}", g=f"{losses.g_loss:.3f}")
        if state.step % checkpoint_every == 0 or state.step == cfg.steps:
            state.save(checkpoint_path)
    bar.close()
    history = state.history
    if history["d_loss"]:
        logger.info("stage 1: done, %d steps, last d_loss %.3f g_loss %.3f",
                    state.step, history["d_loss"][-1], history["g_loss"][-1])
    return state.handed_on(), state.discriminator, history | {"train_seconds": state.clock.at_checkpoint}
