import numpy as np
import pytest
import torch

from dshgan.config import GANConfig
from dshgan.train.gan_state import GANState
from dshgan.train.gan_step import GANData, gan_step

CPU = torch.device("cpu")
CFG = GANConfig(steps=3, batch_size=8, width=8, noise_dim=16)


@pytest.mark.parametrize("cfg", [CFG, GANConfig(steps=3, batch_size=8, width=8, noise_dim=16,
                                                class_projection=True)])
def test_a_saved_state_resumes_nets_optimisers_history_and_random_draws(tmp_path, cfg):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    data = GANData(images, np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)], images, False)
    torch.manual_seed(0)
    first = GANState(cfg, 4, 16, CPU, seed=5)
    gan_step(first, data, CPU)
    first.step, first.history["d_loss"] = 1, [0.5]
    first.save(tmp_path / "s1.pt")

    torch.manual_seed(1)  # other initial weights: all must come from the file
    again = GANState(cfg, 4, 16, CPU, seed=99)
    again.resume(tmp_path / "s1.pt", CPU)
    assert again.step == 1 and again.history["d_loss"] == [0.5]
    for a, b in zip(first.generator.state_dict().values(), again.generator.state_dict().values()):
        assert torch.equal(a, b)
    assert gan_step(first, data, CPU) == gan_step(again, data, CPU)


def test_resume_without_a_file_starts_fresh(tmp_path):
    s = GANState(CFG, 4, 16, CPU, seed=0)
    s.resume(tmp_path / "missing.pt", CPU)
    assert s.step == 0 and s.history["d_loss"] == []


def test_lr_d_sets_d_learning_rate_only():
    s = GANState(GANConfig(width=8, noise_dim=16, lr=2e-4, lr_d=4e-4), 4, 16, CPU, seed=0)
    assert [g["lr"] for g in s.opt_d.param_groups] == [4e-4]
    assert [g["lr"] for g in s.opt_g.param_groups] == [2e-4]
    plain = GANState(GANConfig(width=8, noise_dim=16, lr=3e-4), 4, 16, CPU, seed=0)
    assert plain.opt_d.param_groups[0]["lr"] == plain.opt_g.param_groups[0]["lr"] == 3e-4


def test_the_discriminator_option_picks_the_net():
    from dshgan.nets.discriminator import Discriminator
    from dshgan.nets.projected_discriminator import ProjectedDiscriminator
    from dshgan.nets.sngan_discriminator import SNGANDiscriminator

    assert type(GANState(CFG, 4, 16, CPU, seed=0).discriminator) is Discriminator
    sngan = GANState(GANConfig(width=8, noise_dim=16, discriminator="sngan"), 4, 16, CPU, seed=0)
    assert type(sngan.discriminator) is SNGANDiscriminator
    projected = GANState(GANConfig(width=8, noise_dim=16, discriminator="projected",
                                   feature_size=32), 4, 16, CPU, seed=0)
    assert type(projected.discriminator) is ProjectedDiscriminator
    assert projected.discriminator.feature_size == 32
    conditioned = GANState(GANConfig(width=8, noise_dim=16, discriminator="sngan",
                                     class_projection=True), 4, 16, CPU, seed=0)
    assert type(conditioned.discriminator.net) is SNGANDiscriminator
    twin = GANState(GANConfig(width=8, noise_dim=16, twin_classifier_weight=1.0), 4, 16, CPU,
                    seed=0)
    assert type(twin.discriminator.net) is Discriminator
    with pytest.raises(ValueError, match="gan.discriminator must be one of.*'big'"):
        GANState(GANConfig(width=8, discriminator="big"), 4, 16, CPU, seed=0)


def test_the_defaults_keep_no_average_and_hand_on_g_itself():
    s = GANState(CFG, 4, 16, CPU, seed=0)
    assert s.ema is None and s.handed_on() is s.generator


def test_the_average_is_saved_and_resumed(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    data = GANData(images, np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)], images, False)
    cfg = GANConfig(steps=3, batch_size=8, width=8, noise_dim=16, ema_decay=0.9)
    torch.manual_seed(0)
    first = GANState(cfg, 4, 16, CPU, seed=5)
    gan_step(first, data, CPU)
    first.save(tmp_path / "s1.pt")
    torch.manual_seed(1)
    again = GANState(cfg, 4, 16, CPU, seed=5)
    again.resume(tmp_path / "s1.pt", CPU)
    for a, b in zip(first.ema.shadow.state_dict().values(),
                    again.ema.shadow.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="kept no average of G"):
        plain = GANState(CFG, 4, 16, CPU, seed=5)
        plain.save(tmp_path / "plain.pt")
        GANState(cfg, 4, 16, CPU, seed=5).resume(tmp_path / "plain.pt", CPU)
