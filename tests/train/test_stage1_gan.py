import numpy as np
import pytest
import torch

from dshgan.config import GANConfig
from dshgan.data.toy import make_toy_dataset
from dshgan.image_tensors import to_tensor_images
from dshgan.train import gan_state, stage1_gan
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


def pair_order(logits, labels):
    """Share of (present, absent) label pairs per image whose logits are ordered right
    (0.5 is chance)."""
    right = [(lo[y == 1][:, None] > lo[y == 0][None, :]).float().mean().item()
             for lo, y in zip(logits, labels) if 0 < y.sum() < len(y)]
    return float(np.mean(right))


def test_multi_label_discriminator_learns_the_label_vectors(tmp_path):
    """On toy multi-label images (1-3 motifs each), 150 steps teach the discriminator's
    classifier which labels an image holds. Measured on seeds 0-3: 0.70-0.90 of label pairs
    ordered right after training, 0.41-0.49 untrained (chance 0.5)."""
    toy = make_toy_dataset(n_per_class=12, num_classes=4, image_size=16, seed=0,
                           multi_label=True)
    images, labels = toy.images, toy.labels
    cfg = GANConfig(steps=150, batch_size=16, width=8, noise_dim=8)
    torch.manual_seed(0)
    _, d, history = train_gan(cfg, images, labels, images[:0], True, CPU, tmp_path / "s1.pt",
                              progress=False)
    assert len(history["d_loss"]) == 150  # no unlabelled images: the labelled ones stand in
    torch.manual_seed(0)
    _, untrained = stage1_gan.build_gan(cfg, 4, 16)
    x, y = to_tensor_images(images, CPU), torch.from_numpy(labels)
    with torch.no_grad():
        trained_order = pair_order(d.eval()(x).class_logits, y)
        untrained_order = pair_order(untrained.eval()(x).class_logits, y)
    assert trained_order > 0.65 and trained_order > untrained_order + 0.15, (
        trained_order, untrained_order)


def kill_after_checkpoints(monkeypatch, n: int, run) -> None:
    """``run()`` from seed 0, killed (KeyboardInterrupt) right after its n-th checkpoint is
    written, as a stopped job would be; the real checkpoint writer is restored after."""
    real_save = gan_state.save_checkpoint
    calls = []

    def save_then_die(path, state):
        real_save(path, state)
        calls.append(state["step"])
        if len(calls) == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(gan_state, "save_checkpoint", save_then_die)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        run()
    monkeypatch.setattr(gan_state, "save_checkpoint", real_save)


def test_killed_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    images, labels = data()
    cfg = GANConfig(steps=6, batch_size=8, width=8, noise_dim=8)
    torch.manual_seed(0)
    g_ref, _, _ = train_gan(cfg, images, labels, images, False, CPU, tmp_path / "ref.pt",
                            progress=False, checkpoint_every=2)

    kill_after_checkpoints(monkeypatch, 2, lambda: train_gan(  # killed after step 4's
        cfg, images, labels, images, False, CPU, tmp_path / "run.pt", progress=False,
        checkpoint_every=2))
    torch.manual_seed(123)  # the checkpoint, not the caller, must restore every random state
    g, _, history = train_gan(cfg, images, labels, images, False, CPU, tmp_path / "run.pt",
                              progress=False, checkpoint_every=2)
    assert len(history["d_loss"]) == 6
    for (name, a), b in zip(g.state_dict().items(), g_ref.state_dict().values()):
        assert torch.equal(a, b), name


def test_the_average_is_handed_on_and_a_resumed_run_continues_it_exactly(tmp_path,
                                                                         monkeypatch):
    images, labels = data()
    cfg = GANConfig(steps=6, batch_size=8, width=8, noise_dim=8, ema_decay=0.7,
                    upsample="resize", conditioning="batchnorm", discriminator="sngan")
    torch.manual_seed(0)
    g_ref, _, _ = train_gan(cfg, images, labels, images, False, CPU, tmp_path / "ref.pt",
                            progress=False, checkpoint_every=3)
    saved = torch.load(tmp_path / "ref.pt", weights_only=False)
    assert g_ref.training and all(p.requires_grad for p in g_ref.parameters())
    for name, value in g_ref.state_dict().items():  # the average, not the live G
        assert torch.equal(value, saved["generator_ema"]["shadow"][name]), name
    assert any(not torch.equal(value, saved["generator"][name])
               for name, value in g_ref.state_dict().items())

    kill_after_checkpoints(monkeypatch, 1, lambda: train_gan(  # killed after step 3's
        cfg, images, labels, images, False, CPU, tmp_path / "run.pt", progress=False,
        checkpoint_every=3))
    torch.manual_seed(123)
    g, _, history = train_gan(cfg, images, labels, images, False, CPU, tmp_path / "run.pt",
                              progress=False, checkpoint_every=3)
    assert len(history["d_loss"]) == 6
    for (name, a), b in zip(g.state_dict().items(), g_ref.state_dict().values()):
        assert torch.equal(a, b), name


def test_the_seconds_trained_add_up_over_sittings(tmp_path, monkeypatch):
    images, labels = data()
    cfg = GANConfig(steps=6, batch_size=8, width=8, noise_dim=8)
    path = tmp_path / "run.pt"
    kill_after_checkpoints(monkeypatch, 1, lambda: train_gan(
        cfg, images, labels, images, False, CPU, path, progress=False, checkpoint_every=3))
    monkeypatch.undo()
    first_sitting = torch.load(path, weights_only=False)["train_seconds"]
    assert first_sitting > 0
    _, _, history = train_gan(cfg, images, labels, images, False, CPU, path, progress=False,
                              checkpoint_every=3)
    assert history["train_seconds"] > first_sitting
    _, _, reloaded = train_gan(cfg, images, labels, images, False, CPU, path, progress=False)
    assert reloaded["train_seconds"] == history["train_seconds"]  # not the reload's seconds
