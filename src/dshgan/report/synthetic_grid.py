"""The picture of a generator a person looks at first: a few samples per class, one row each.

Mode collapse shows at a glance (a row of near-copies), which no single number conveys; every run
with a GAN saves one, and so does the stage-1 lever benchmark.
"""

from __future__ import annotations

from pathlib import Path

import torch

from dshgan.image_tensors import to_uint8_images
from dshgan.report import plots


def save_synthetic_grid(generator, class_names: list[str], path: str | Path, seed: int,
                        device: torch.device | str = "cpu", per_class: int = 8,
                        max_rows: int = 10) -> Path:
    """``per_class`` samples of each of the first ``max_rows`` classes (one-hot labels), noise
    drawn from ``seed`` so two generators are shown on the same noise."""
    c = generator.num_classes
    shown = min(c, max_rows)
    y = torch.eye(c)[torch.arange(shown).repeat_interleave(per_class)].to(device)
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        z = torch.randn(len(y), generator.noise_dim,
                        generator=torch.Generator().manual_seed(seed)).to(device)
        samples = to_uint8_images(generator(z, y))
    generator.train(was_training)
    return plots.plot_image_grid(samples, path, nrow=per_class, row_labels=class_names[:shown],
                                 title="Synthetic images per class (one row per class)")
