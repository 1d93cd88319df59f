import numpy as np
import torch
from PIL import Image

from dshgan.nets import ConditionalGenerator
from dshgan.report.synthetic_grid import save_synthetic_grid


def test_same_seed_same_picture_and_training_mode_restored(tmp_path):
    torch.manual_seed(0)
    g = ConditionalGenerator(num_classes=3, noise_dim=8, image_size=8, width=8)
    g.train()
    a = save_synthetic_grid(g, ["a", "b", "c"], tmp_path / "a.png", seed=1, per_class=4)
    b = save_synthetic_grid(g, ["a", "b", "c"], tmp_path / "b.png", seed=1, per_class=4)
    c = save_synthetic_grid(g, ["a", "b", "c"], tmp_path / "c.png", seed=2, per_class=4)
    assert g.training
    pa, pb, pc = (np.asarray(Image.open(p)) for p in (a, b, c))
    assert np.array_equal(pa, pb)
    assert not np.array_equal(pa, pc)


def test_rows_are_capped(tmp_path, monkeypatch):
    from dshgan.report import plots

    seen = {}

    def fake_grid(images, path, nrow, row_labels, title):
        seen.update(n=len(images), nrow=nrow, rows=row_labels)
        return path

    monkeypatch.setattr(plots, "plot_image_grid", fake_grid)
    g = ConditionalGenerator(num_classes=12, noise_dim=8, image_size=8, width=8)
    names = [f"c{i}" for i in range(12)]
    save_synthetic_grid(g, names, tmp_path / "g.png", seed=0, per_class=3, max_rows=10)
    assert seen == {"n": 30, "nrow": 3, "rows": names[:10]}
