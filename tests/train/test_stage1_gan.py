import numpy as np
import pytest
import torch

from dshgan.config import GANConfig
from dshgan.train import stage1_gan
from dshgan.train.stage1_gan import train_gan

CPU = torch.device("cpu")


def data(multi_label=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
    labels = np.eye(3, dtype=np.uint8)[rng.integers(0, 3, 24)]
    if multi_label:
        labels[::2, 2] = 1
    return images, labels


def test_losses_move_and_checkpoint_is_written(tmp_path):
    images, labels = data()
    cfg = GANConfig(steps=6, batch_size=8, width=8, noise_dim=8)
    g, _d, history = train_gan(cfg, images, labels, images, False, CPU, tmp_path / "s1.pt",
                              progress=False, checkpoint_every=3)
    assert len(history["d_loss"]) == 6 and all(np.isfinite(history["g_loss"]))
    assert (tmp_path / "s1.pt").exists()
    assert g(g.sample_noise(2), torch.eye(3)[:2]).shape == (2, 3, 16, 16)


def test_multi_label_runs(tmp_path):
    images, labels = data(multi_label=True)
    cfg = GANConfig(steps=2, batch_size=4, width=8, noise_dim=8)
    _, _, history = train_gan(cfg, images, labels, images[:0], True, CPU, tmp_path / "s1.pt",
                              progress=False)
    assert len(history["d_loss"]) == 2  # no unlabelled images: the labelled ones stand in


def test_killed_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    images, labels = data()
    cfg = GANConfig(steps=6, batch_size=8, width=8, noise_dim=8)
    torch.manual_seed(0)
    g_ref, _, _ = train_gan(cfg, images, labels, images, False, CPU, tmp_path / "ref.pt",
                            progress=False, checkpoint_every=2)

    real_save = stage1_gan.save_checkpoint
    calls = []

    def save_then_die(path, state):
        real_save(path, state)
        calls.append(state["step"])
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed right after the step-4 checkpoint

    monkeypatch.setattr(stage1_gan, "save_checkpoint", save_then_die)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        train_gan(cfg, images, labels, images, False, CPU, tmp_path / "run.pt", progress=False,
                  checkpoint_every=2)
    monkeypatch.setattr(stage1_gan, "save_checkpoint", real_save)
    torch.manual_seed(123)  # the checkpoint, not the caller, must restore every random state
    g, _, history = train_gan(cfg, images, labels, images, False, CPU, tmp_path / "run.pt",
                              progress=False, checkpoint_every=2)
    assert len(history["d_loss"]) == 6
    for (name, a), b in zip(g.state_dict().items(), g_ref.state_dict().values()):
        assert torch.equal(a, b), name
