"""Stage 1: semi-supervised conditional GAN pre-training (Qiu et al., SIGIR 2017, Sec. 3.1).

Each step the discriminator sees a labelled real batch (real/synthetic and class outputs), an
unlabelled real batch (real/synthetic output only) and a synthetic batch; the generator is then
pushed to make images the discriminator calls real *and* classifies as the labels they were drawn
from. Synthetic labels are drawn from the labelled set's label vectors, so multi-label data gets
label combinations that actually occur.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dshgan.config import GANConfig
from dshgan.losses.adversarial import discriminator_loss, generator_loss
from dshgan.losses.classification import classification_loss
from dshgan.nets.discriminator import Discriminator
from dshgan.nets.generator import ConditionalGenerator
from dshgan.train.checkpoints import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from dshgan.train.image_tensors import to_tensor_images
from dshgan.train.runtime import logger


def build_gan(cfg: GANConfig, num_classes: int, image_size: int):
    generator = ConditionalGenerator(num_classes, cfg.noise_dim, image_size, cfg.width)
    discriminator = Discriminator(num_classes, image_size, cfg.width)
    return generator, discriminator


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
) -> tuple[ConditionalGenerator, Discriminator, dict]:
    """Train (or resume, or just load when finished) the GAN; returns G, D and the loss history."""
    checkpoint_path = Path(checkpoint_path)
    num_classes = labelled_labels.shape[1]
    image_size = labelled_images.shape[1]
    generator, discriminator = build_gan(cfg, num_classes, image_size)
    generator.to(device)
    discriminator.to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    batches = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": [], "d_class_acc": []}
    step = 0
    if checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, device)
        generator.load_state_dict(state["generator"])
        discriminator.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        history, step = state["history"], state["step"]
        set_rng_state(state["rng"], batches)
        logger.info("stage 1: resumed from %s at step %d/%d", checkpoint_path, step, cfg.steps)

    labels_t = torch.from_numpy(labelled_labels).float()
    n_lab, n_unl = len(labelled_images), len(unlabelled_images)
    if n_lab == 0:
        raise ValueError("stage 1 needs at least one labelled image")
    pool = unlabelled_images if n_unl else labelled_images
    bar = tqdm(total=cfg.steps, initial=step, desc="stage 1 GAN", disable=not progress)
    generator.train()
    discriminator.train()
    while step < cfg.steps:
        lab_idx = torch.randint(0, n_lab, (cfg.batch_size,), generator=batches).numpy()
        unl_idx = torch.randint(0, len(pool), (cfg.batch_size,), generator=batches).numpy()
        fake_idx = torch.randint(0, n_lab, (cfg.batch_size,), generator=batches)
        x_lab = to_tensor_images(labelled_images[lab_idx], device)
        y_lab = labels_t[lab_idx].to(device)
        x_unl = to_tensor_images(pool[unl_idx], device)
        y_fake = labels_t[fake_idx].to(device)
        noise = torch.randn(cfg.batch_size, cfg.noise_dim, generator=batches).to(device)
        fake = generator(noise, y_fake)

        out_real = discriminator(torch.cat([x_lab, x_unl]))
        out_fake = discriminator(fake.detach())
        d_adv = discriminator_loss(out_real.real_logit, out_fake.real_logit)
        d_cls = classification_loss(out_real.class_logits[: cfg.batch_size], y_lab, multi_label)
        d_loss = d_adv + cfg.classification_weight * d_cls
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        out_gen = discriminator(fake)
        g_loss = generator_loss(out_gen.real_logit) + cfg.classification_weight * (
            classification_loss(out_gen.class_logits, y_fake, multi_label)
        )
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

        step += 1
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        if not multi_label:
            acc = (out_real.class_logits[: cfg.batch_size].argmax(1) == y_lab.argmax(1)).float()
            history["d_class_acc"].append(float(acc.mean()))
        bar.update(1)
        bar.set_postfix(d=f"{d_loss.item():.3f}", g=f"{g_loss.item():.3f}")
        if step % checkpoint_every == 0 or step == cfg.steps:
            save_checkpoint(checkpoint_path, {
                "generator": generator.state_dict(), "discriminator": discriminator.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "step": step,
                "history": history, "rng": rng_state(batches), "config": cfg.__dict__,
            })
    bar.close()
    if history["d_loss"]:
        logger.info("stage 1: done, %d steps, last d_loss %.3f g_loss %.3f",
                    step, history["d_loss"][-1], history["g_loss"][-1])
    return generator, discriminator, history
