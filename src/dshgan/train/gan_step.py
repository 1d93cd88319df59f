"""One stage-1 step: the discriminator's update on real and synthetic batches, then the
generator's (Qiu et al., SIGIR 2017, Sec. 3.1)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from dshgan.image_tensors import to_tensor_images
from dshgan.losses.adversarial import (
    discriminator_hinge_loss,
    discriminator_loss,
    generator_hinge_loss,
    generator_loss,
)
from dshgan.losses.classification import classification_loss
from dshgan.losses.mode_seeking import mode_seeking_loss
from dshgan.nets.discriminator import DiscriminatorOutput
from dshgan.train.diff_augment import diff_augment
from dshgan.train.distributed import average_param_grads, mean_over_ranks, share_size
from dshgan.train.gan_state import GANState


class GANData:
    """The labelled images with their label vectors, and the real images D sees unlabelled (the
    labelled ones when there is no unlabelled pool)."""

    def __init__(self, labelled_images: np.ndarray, labelled_labels: np.ndarray,
                 unlabelled_images: np.ndarray, multi_label: bool):
        if len(labelled_images) == 0:
            raise ValueError("stage 1 needs at least one labelled image")
        self.labelled, self.multi_label = labelled_images, multi_label
        self.labels = torch.from_numpy(labelled_labels).float()
        self.pool = unlabelled_images if len(unlabelled_images) else labelled_images


class StepLosses(NamedTuple):
    d_loss: float
    g_loss: float
    d_class_acc: float | None  # D's accuracy on the labelled batch (single-label only)


class GANBatch(NamedTuple):
    """One step's draws: a labelled real batch, an unlabelled real batch, the labels and noise
    of a synthetic batch."""

    x_lab: torch.Tensor
    y_lab: torch.Tensor
    x_unl: torch.Tensor
    y_fake: torch.Tensor
    noise: torch.Tensor


def draw_batch(state: GANState, data: GANData, n: int, device: torch.device) -> GANBatch:
    rng = state.batches
    lab_idx = torch.randint(0, len(data.labelled), (n,), generator=rng).numpy()
    unl_idx = torch.randint(0, len(data.pool), (n,), generator=rng).numpy()
    fake_idx = torch.randint(0, len(data.labelled), (n - _pairs(state, n),), generator=rng)
    fake_idx = torch.cat([fake_idx, fake_idx[:_pairs(state, n)]])  # pairs for mode seeking
    x_lab = to_tensor_images(data.labelled[lab_idx], device)
    y_lab = data.labels[lab_idx].to(device)
    x_unl = to_tensor_images(data.pool[unl_idx], device)
    y_fake = data.labels[fake_idx].to(device)
    noise = torch.randn(n, state.cfg.noise_dim, generator=rng).to(device)
    return GANBatch(x_lab, y_lab, x_unl, y_fake, noise)


def discriminator_objective(state: GANState, data: GANData, batch: GANBatch,
                            fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """D's loss: real/synthetic on both real batches and the synthetic one; classes on the
    labelled one (and, with a twin classifier, the synthetic one's asked labels). Also returns
    D's class logits of the labelled batch."""
    n, cfg = len(batch.y_lab), state.cfg
    out_real = _judge(state, data, torch.cat([batch.x_lab, batch.x_unl]), batch.y_lab)
    out_fake = _judge(state, data, fake.detach(), batch.y_fake)
    d_cls = classification_loss(out_real.class_logits[:n], batch.y_lab, data.multi_label)
    adversarial = discriminator_hinge_loss if cfg.loss == "hinge" else discriminator_loss
    d_loss = (adversarial(out_real.real_logit, out_fake.real_logit)
              + cfg.classification_weight * d_cls)
    if cfg.twin_classifier_weight > 0:  # the twin learns the synthetic images' asked labels
        d_loss = d_loss + cfg.classification_weight * classification_loss(
            out_fake.twin_logits, batch.y_fake, data.multi_label)
    return d_loss, out_real.class_logits[:n]


def generator_objective(state: GANState, data: GANData, batch: GANBatch,
                        fake: torch.Tensor) -> torch.Tensor:
    """G's loss: be called real, and be classified as the labels it was asked for (weighted by
    ``generator_classification_weight`` when set, else as D's term); with a twin classifier,
    minus its loss times ``twin_classifier_weight``; with mode seeking, MSGAN's term."""
    cfg = state.cfg
    out_gen = _judge(state, data, fake, batch.y_fake)
    adversarial = generator_hinge_loss if cfg.loss == "hinge" else generator_loss
    weight = (cfg.classification_weight if cfg.generator_classification_weight is None
              else cfg.generator_classification_weight)
    loss = adversarial(out_gen.real_logit) + weight * (
        classification_loss(out_gen.class_logits, batch.y_fake, data.multi_label))
    if cfg.twin_classifier_weight > 0:  # G plays against the twin (TAC-GAN)
        loss = loss - cfg.twin_classifier_weight * classification_loss(
            out_gen.twin_logits, batch.y_fake, data.multi_label)
    pairs = _pairs(state, len(fake))
    if pairs:  # image i and image n - pairs + i were asked for the same labels
        n = len(fake)
        loss = loss + cfg.mode_seeking_weight * mode_seeking_loss(
            fake[:pairs], fake[n - pairs:], batch.noise[:pairs], batch.noise[n - pairs:])
    return loss


def _judge(state: GANState, data: GANData, images: torch.Tensor,
           labels: torch.Tensor) -> DiscriminatorOutput:
    """D on what it is shown of ``images``; with ``gan.class_projection`` its logits are
    conditioned on ``labels`` (those of the first images; the rest are unlabelled)."""
    seen = _seen_by_d(state, images)
    if state.cfg.class_projection:
        return state.discriminator(seen, labels, data.multi_label)
    return state.discriminator(seen)


def _pairs(state: GANState, n: int) -> int:
    """Synthetic images asked for the same labels as another, for mode seeking (0: off)."""
    return n // 2 if state.cfg.mode_seeking_weight > 0 else 0


def _seen_by_d(state: GANState, images: torch.Tensor) -> torch.Tensor:
    """What D is shown: ``images`` through the config's DiffAugment policy (none by default, and
    then no random number is drawn), its draws from the step's generator."""
    return diff_augment(images, state.diff_augment, state.batches)


def gan_step(state: GANState, data: GANData, device: torch.device) -> StepLosses:
    """Draw the three batches (labelled, unlabelled, synthetic), update D, then G, then G's
    average (when kept).

    With several processes each draws its share of the batch (its own random stream) and the
    gradients are averaged over them before each update (train/distributed.py)."""
    n = share_size(state.cfg.batch_size)
    batch = draw_batch(state, data, n, device)
    fake = state.generator(batch.noise, batch.y_fake)

    d_loss, class_logits = discriminator_objective(state, data, batch, fake)
    state.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    average_param_grads(state.discriminator.parameters(), n)
    state.opt_d.step()

    g_loss = generator_objective(state, data, batch, fake)
    state.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    average_param_grads(state.generator.parameters(), n)
    state.opt_g.step()
    if state.ema is not None:
        state.ema.update(state.generator)

    acc = None
    if not data.multi_label:
        acc = float((class_logits.argmax(1) == batch.y_lab.argmax(1)).float().mean())
    d, g, a = mean_over_ranks([d_loss.item(), g_loss.item(), acc or 0.0], n)
    return StepLosses(d, g, None if acc is None else a)
