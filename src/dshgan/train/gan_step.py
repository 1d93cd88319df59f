"""One stage-1 step: the discriminator's update on real and synthetic batches, then the
generator's (Qiu et al., SIGIR 2017, Sec. 3.1)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from dshgan.losses.adversarial import discriminator_loss, generator_loss
from dshgan.losses.classification import classification_loss
from dshgan.train.gan_state import GANState
from dshgan.train.image_tensors import to_tensor_images


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


def gan_step(state: GANState, data: GANData, device: torch.device) -> StepLosses:
    """Draw the three batches (labelled, unlabelled, synthetic), update D, then G."""
    cfg, rng, n = state.cfg, state.batches, state.cfg.batch_size
    lab_idx = torch.randint(0, len(data.labelled), (n,), generator=rng).numpy()
    unl_idx = torch.randint(0, len(data.pool), (n,), generator=rng).numpy()
    fake_idx = torch.randint(0, len(data.labelled), (n,), generator=rng)
    x_lab = to_tensor_images(data.labelled[lab_idx], device)
    y_lab = data.labels[lab_idx].to(device)
    x_unl = to_tensor_images(data.pool[unl_idx], device)
    y_fake = data.labels[fake_idx].to(device)
    noise = torch.randn(n, cfg.noise_dim, generator=rng).to(device)
    fake = state.generator(noise, y_fake)

    # D: real/synthetic on both real batches and the synthetic one; classes on the labelled one.
    out_real = state.discriminator(torch.cat([x_lab, x_unl]))
    out_fake = state.discriminator(fake.detach())
    d_cls = classification_loss(out_real.class_logits[:n], y_lab, data.multi_label)
    d_loss = (discriminator_loss(out_real.real_logit, out_fake.real_logit)
              + cfg.classification_weight * d_cls)
    state.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    state.opt_d.step()

    # G: be called real, and be classified as the labels it was asked for.
    out_gen = state.discriminator(fake)
    g_loss = generator_loss(out_gen.real_logit) + cfg.classification_weight * (
        classification_loss(out_gen.class_logits, y_fake, data.multi_label))
    state.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    state.opt_g.step()

    acc = None
    if not data.multi_label:
        acc = float((out_real.class_logits[:n].argmax(1) == y_lab.argmax(1)).float().mean())
    return StepLosses(d_loss.item(), g_loss.item(), acc)
