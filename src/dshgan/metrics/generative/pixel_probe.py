"""A second GAN-test whose classifier sees only pixels: a small CNN trained from scratch on the
real labelled training images, scored on the generator's images per class.

Why a second one: the linear probe (``probe.py``) reads frozen ImageNet EfficientNet-Lite0
features. A discriminator built on those same features (Projected GAN, Sauer et al. 2021)
trains the generator against them, and then the generator can learn what that probe reads
without looking like the class (cf. Kynkäänniemi et al. 2023 on FID and ImageNet features).
This classifier shares no weights and no pretraining with any discriminator: it is the
classifier of Shmelkov et al.'s GAN-test, in small.

The classifier: ``SmallCNN`` (three VGG-style blocks, global average pooling) and a linear
head, Adam with a cosine decay of the learning rate over a fixed number of epochs, light
augmentation in torch ops (random horizontal flip, random translation by up to
``max(1, size // 16)`` px with zero padding), every random draw from ``seed`` (weights, order,
augmentation), batch norm in eval mode for scoring with its statistics recomputed on the
training images for the final weights. Its accuracy on the real validation images is the ceiling
GAN-test is read against.

Single-label data only: a multi-label dataset raises a ValueError. Images are uint8
(n, H, W, 3) as everywhere in ``generative`` (the synthetic ones quantized by ``sampling.py``);
the real ones are first brought to the generator's size, as ``evaluate.py`` does.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dshgan.image_tensors import to_tensor_images
from dshgan.metrics.generative.class_scores import accuracy_per_class
from dshgan.metrics.generative.evaluate import DEFAULT_PER_CLASS
from dshgan.metrics.generative.sampling import at_generator_size, generate_images, labels_per_class
from dshgan.nets.small_cnn import SmallCNN

# On the 4,500 CIFAR-10 training images at 32 px, one avx2 CPU thread of a busy 2-core machine:
# 5.4-7 s per epoch at width 16, so 20 epochs take about 2 minutes (108-140 s), and reach 0.68
# accuracy on the 500 validation images (25 epochs: 0.69; without the cosine decay: 0.60; width
# 32 for 8 epochs, about as long: 0.55 without the decay). Measured when this file was added.
EPOCHS = 20
WIDTH = 16
BATCH_SIZE = 64
LR = 2e-3


class PixelClassifier(nn.Module):
    """``SmallCNN`` trunk and a linear head: (n, 3, H, W) images in [-1, 1] -> (n, C) logits."""

    def __init__(self, num_classes: int, width: int = WIDTH):
        super().__init__()
        self.trunk = SmallCNN(width=width)
        self.head = nn.Linear(self.trunk.feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk.forward_features(images))


def class_ids(labels: np.ndarray) -> np.ndarray:
    """(n,) class ids of one-hot (n, C) labels; a ValueError for any row that is not one-hot."""
    y = np.asarray(labels)
    if y.ndim != 2:
        raise ValueError(f"labels must be one-hot (n, C), got shape {y.shape}")
    if len(y) and not ((y > 0).sum(axis=1) == 1).all():
        raise ValueError("the pixel probe is single-label only: every label row must hold "
                         "exactly one class (this data is multi-label or has unlabelled rows)")
    return y.argmax(axis=1).astype(np.int64)


def augment(x: torch.Tensor, shift: int, rng: torch.Generator) -> torch.Tensor:
    """Each image flipped left-right with probability 1/2 and moved by up to ``shift`` px in
    each direction (zero padding, i.e. mid-grey); draws from ``rng`` (a CPU generator)."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=rng) < 0.5
    x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)
    if shift <= 0:
        return x
    dy, dx = torch.randint(0, 2 * shift + 1, (2, n), generator=rng).to(x.device)
    padded = F.pad(x, (shift, shift, shift, shift))
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, chan, rows, cols]


def train_pixel_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = EPOCHS,
                           seed: int = 0, device: torch.device | str = "cpu",
                           width: int = WIDTH, batch_size: int = BATCH_SIZE,
                           lr: float = LR) -> PixelClassifier:
    """A ``PixelClassifier`` trained on uint8 (n, H, W, 3) images with one-hot (n, C) labels,
    returned in eval mode. The same arguments give the same weights (on the same device and
    number of threads)."""
    y = class_ids(labels)
    if len(images) != len(y):
        raise ValueError(f"{len(images)} images but {len(y)} labels")
    if len(y) < 2:
        raise ValueError(f"the pixel probe needs at least 2 labelled images, got {len(y)}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):  # the weights from seed, the caller's RNG untouched
        torch.manual_seed(seed)
        model = PixelClassifier(np.asarray(labels).shape[1], width)
    model = model.to(device).train()
    rng = torch.Generator().manual_seed(seed)
    x_all = to_tensor_images(images, device)
    y_all = torch.from_numpy(y).to(device)
    shift = max(1, int(images.shape[1]) // 16)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # Cosine decay to zero over the epochs, per epoch.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=rng).to(device)
        for s in range(0, len(y), batch_size):
            idx = order[s:s + batch_size]
            if len(idx) < 2:  # batch norm cannot train on one image
                continue
            loss = F.cross_entropy(model(augment(x_all[idx], shift, rng)), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        schedule.step()
    _recompute_batch_norm(model, x_all, batch_size)
    return model.eval()


def _recompute_batch_norm(model: nn.Module, x: torch.Tensor, batch_size: int) -> None:
    """Batch norm's running statistics recomputed for the final weights: the plain average over
    the un-augmented training images, batch by batch (a short training leaves the running
    averages near their initial values, and a long one weights the last steps' weights)."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            if len(x) - s >= 2:
                model(x[s:s + batch_size])
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


def pixel_scores(model: PixelClassifier, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(n, C) logits of uint8 (n, H, W, 3) images, in eval mode (batch-norm running stats)."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(images), batch_size):
            out.append(model(to_tensor_images(images[s:s + batch_size], device)).double().cpu())
    if not out:
        return np.zeros((0, model.head.out_features))
    return torch.cat(out).numpy()


def pixel_gan_test(generator, real_train_images: np.ndarray, real_train_labels: np.ndarray,
                   real_val_images: np.ndarray, real_val_labels: np.ndarray,
                   multi_label: bool = False, per_class: int = DEFAULT_PER_CLASS,
                   seed: int = 0, device: torch.device | str = "cpu", epochs: int = EPOCHS,
                   width: int = WIDTH, heldout_name: str = "validation") -> dict:
    """GAN-test of ``generator`` (``forward(noise, labels)`` -> images in [-1, 1],
    ``noise_dim``) with the pixel classifier trained on the real training images.

    - ``real_classifier``: its accuracy on the real held-out images (validation; the test
      queries only for a final table), overall and per class: the ceiling for GAN-test.
    - ``gan_test``: its accuracy on ``per_class`` synthetic images per class. With the same
      ``seed`` they are the very images ``evaluate_generator`` scores with the linear probe.
    """
    if multi_label:
        raise ValueError("the pixel probe is single-label only; this dataset is multi-label")
    if len(real_train_images) != len(real_train_labels):
        raise ValueError(f"{len(real_train_images)} training images but "
                         f"{len(real_train_labels)} labels")
    if len(real_val_images) != len(real_val_labels):
        raise ValueError(f"{len(real_val_images)} {heldout_name} images but "
                         f"{len(real_val_labels)} labels")
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    t0 = time.perf_counter()
    size, real_train_images, real_val_images = at_generator_size(
        generator, real_train_images, real_val_images)
    y_train, y_val = np.asarray(real_train_labels), np.asarray(real_val_labels)
    class_ids(y_val)  # the same single-label check on the held-out labels
    model = train_pixel_classifier(real_train_images, y_train, epochs, seed, device, width)
    train_s = time.perf_counter() - t0
    asked = labels_per_class(y_train, per_class, False, np.random.default_rng(seed))
    synthetic = generate_images(generator, asked, seed, device)
    overall, per = accuracy_per_class(pixel_scores(model, synthetic), asked)
    real_overall, real_per = accuracy_per_class(pixel_scores(model, real_val_images), y_val)
    return {
        "classifier": (f"small CNN (width {width}) trained from scratch on the real training "
                       f"pixels; Adam lr {LR} (cosine decay), batch {BATCH_SIZE}, {epochs} "
                       f"epochs, flip and translation augmentation, seed {seed}"),
        "gan_test": {"overall": overall, "per_class": per},
        "real_classifier": {"overall": real_overall, "per_class": real_per},
        "sizes": {"per_class": per_class, "synthetic": len(asked),
                  "real_train": len(real_train_images), heldout_name: len(real_val_images)},
        "real_classifier_on": heldout_name,
        "image_size": None if size is None else int(size),
        "epochs": epochs,
        "seed": seed,
        "train_seconds": round(train_s, 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
