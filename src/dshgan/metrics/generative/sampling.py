"""What the generator is asked for, and its answers as uint8 images.

Single-label data: ``per_class`` one-hot labels of every class. Multi-label data: for each
concept, ``per_class`` label vectors drawn (seeded, with replacement) from the real training
rows that hold it, so every image is asked for a combination that occurs, as in stage 1.
Images are quantized to uint8 like a saved image, so they take the real images' path.
"""

from __future__ import annotations

import numpy as np
import torch

from dshgan.image_tensors import to_uint8_images


def labels_per_class(train_labels: np.ndarray, per_class: int, multi_label: bool,
                     rng: np.random.Generator) -> np.ndarray:
    """(C * per_class, C) label vectors, class by class (a concept with no training row is
    skipped for multi-label data)."""
    train_labels = np.asarray(train_labels)
    c = train_labels.shape[1]
    if not multi_label:
        return np.repeat(np.eye(c, dtype=np.uint8), per_class, axis=0)
    rows = []
    for k in range(c):
        holders = np.flatnonzero(train_labels[:, k] > 0)
        if len(holders):
            rows.append(train_labels[rng.choice(holders, per_class, replace=True)])
    return (np.concatenate(rows) if rows else np.zeros((0, c))).astype(np.uint8)


def generate_images(generator, labels: np.ndarray, seed: int, device: torch.device | str,
                    batch_size: int = 256) -> np.ndarray:
    """uint8 (n, H, W, 3) images ``generator`` makes for ``labels``, noise drawn with ``seed``
    on the CPU (the same noise on any device), in eval mode."""
    device = torch.device(device)
    # All noise in one draw: torch's CPU randn makes a different stream for small draws, so
    # drawing batch by batch would make the images depend on the batch size.
    noise = torch.randn(len(labels), generator.noise_dim,
                        generator=torch.Generator().manual_seed(seed))
    was_training = getattr(generator, "training", False)
    if hasattr(generator, "eval"):
        generator.eval()
    out = []
    try:
        with torch.no_grad():
            for s in range(0, len(labels), batch_size):
                y = torch.from_numpy(np.asarray(labels[s:s + batch_size])).float().to(device)
                z = noise[s:s + batch_size].to(device)
                out.append(to_uint8_images(generator(z, y)))
    finally:
        if was_training:
            generator.train()
    if not out:
        size = getattr(generator, "image_size", 0)
        return np.zeros((0, size, size, 3), np.uint8)
    return np.concatenate(out)


def at_generator_size(generator, *images: np.ndarray) -> tuple[int | None, ...]:
    """(the generator's ``image_size`` or None, then each uint8 image array brought to that
    size): real images are measured at the size the generator makes, as stage 2 sees them."""
    size = getattr(generator, "image_size", None)
    if size is None:
        return (None, *images)
    from dshgan.data.images import resize_images

    return (int(size), *(resize_images(x, int(size)) for x in images))
