import numpy as np
import pytest
import torch

from dshgan.config import GANConfig
from dshgan.train.gan_state import GANState
from dshgan.train.gan_step import GANData, gan_step

CPU = torch.device("cpu")


def data(multi_label=False, n=24):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)
    labels = np.eye(4, dtype=np.float32)[rng.integers(0, 4, n)]
    if multi_label:
        labels[:, 0] = 1.0
    return GANData(images, labels, images[: n // 2], multi_label)


def state():
    torch.manual_seed(0)
    return GANState(GANConfig(steps=3, batch_size=8, width=8, noise_dim=16), 4, 16, CPU, seed=1)


def one_batch(cfg: GANConfig, multi_label: bool):
    """A fresh state for ``cfg``, the toy data, one drawn batch and G's images for it."""
    from dshgan.train.gan_step import draw_batch

    torch.manual_seed(0)
    s, d = GANState(cfg, 4, 16, CPU, seed=1), data(multi_label)
    batch = draw_batch(s, d, 8, CPU)
    return s, d, batch, s.generator(batch.noise, batch.y_fake)


def weights(net):
    return [p.detach().clone() for p in net.parameters()]


def test_a_step_updates_both_nets_and_reports_the_losses():
    s = state()
    g0, d0 = weights(s.generator), weights(s.discriminator)
    losses = gan_step(s, data(), CPU)
    assert all(not torch.equal(a, b) for a, b in zip(d0, weights(s.discriminator)))
    assert any(not torch.equal(a, b) for a, b in zip(g0, weights(s.generator)))
    assert np.isfinite(losses.d_loss) and np.isfinite(losses.g_loss)
    assert losses.d_class_acc in {i / 8 for i in range(9)}  # a share of the 8 labelled images


def test_multi_label_steps_report_no_class_accuracy():
    assert gan_step(state(), data(multi_label=True), CPU).d_class_acc is None


def test_the_same_seed_gives_the_same_step():
    a, b = state(), state()
    assert gan_step(a, data(), CPU) == gan_step(b, data(), CPU)


def test_no_labelled_image_is_refused():
    images = np.zeros((0, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="at least one labelled image"):
        GANData(images, np.zeros((0, 4), np.float32), images, False)


@pytest.mark.parametrize("options", [{"loss": "hinge"}, {"diff_augment": "translation,cutout"},
                                     {"loss": "hinge", "diff_augment": "color,translation"},
                                     {"upsample": "resize", "conditioning": "batchnorm"},
                                     {"discriminator": "sngan", "lr_d": 4e-4},
                                     {"ema_decay": 0.9, "generator_classification_weight": 0.1},
                                     {"class_projection": True, "loss": "hinge"},
                                     {"twin_classifier_weight": 0.5, "class_projection": True}])
def test_the_stage_1_options_train_both_nets(options):
    torch.manual_seed(0)
    s = GANState(GANConfig(steps=3, batch_size=8, width=8, noise_dim=16, **options), 4, 16, CPU,
                 seed=1)
    d0, g0 = weights(s.discriminator), weights(s.generator)
    plain = gan_step(state(), data(), CPU)
    losses = gan_step(s, data(), CPU)
    # (with the hinge loss the real/synthetic bias gets -1 + 1 = 0 at the first step: not all)
    assert sum(not torch.equal(a, b) for a, b in zip(d0, weights(s.discriminator))) >= len(d0) - 1
    assert any(not torch.equal(a, b) for a, b in zip(g0, weights(s.generator)))
    assert np.isfinite(losses.d_loss) and losses != plain  # another objective or other inputs


def test_with_the_projected_discriminator_a_step_trains_its_heads_and_g_not_the_trunk():
    torch.manual_seed(0)
    s = GANState(GANConfig(steps=3, batch_size=8, width=8, noise_dim=16,
                           discriminator="projected", feature_size=32), 4, 16, CPU, seed=1)
    d = s.discriminator
    trunk = {k: v.clone() for k, v in d.state_dict().items() if k.startswith(("stem", "blocks"))}
    heads, g0 = weights(d.heads), weights(s.generator)
    losses = gan_step(s, data(), CPU)
    assert np.isfinite(losses.d_loss) and np.isfinite(losses.g_loss)
    assert all(torch.equal(d.state_dict()[k], v) for k, v in trunk.items())
    assert all(not torch.equal(a, b) for a, b in zip(heads, weights(d.heads)))
    assert all(not torch.equal(a, b) for a, b in zip(g0, weights(s.generator)))


@pytest.mark.parametrize("multi_label", [False, True])
def test_generator_classification_weight_weighs_g_term_only(multi_label):
    """G's loss by hand on one batch: non-saturating BCE of D's real logit on G's images plus
    the weight times the classification loss (cross-entropy, or BCE for multi-label)."""
    import torch.nn.functional as F

    from dshgan.train.gan_step import discriminator_objective, generator_objective

    s, d, batch, fake = one_batch(GANConfig(width=8, noise_dim=16, batch_size=8,
                                            classification_weight=1.0,
                                            generator_classification_weight=0.25), multi_label)
    loss = generator_objective(s, d, batch, fake)
    # In eval mode D's spectral norm reuses the power iteration's vectors of the pass above.
    out = s.discriminator.eval()(fake)
    adversarial = F.binary_cross_entropy_with_logits(out.real_logit, torch.ones(8))
    if multi_label:
        cls = F.binary_cross_entropy_with_logits(out.class_logits, batch.y_fake)
    else:
        cls = F.cross_entropy(out.class_logits, batch.y_fake.argmax(1))
    torch.testing.assert_close(loss, adversarial + 0.25 * cls)
    d_loss, _ = discriminator_objective(s, d, batch, fake)
    s.cfg = GANConfig(width=8, noise_dim=16, batch_size=8)  # D's term keeps classification_weight
    torch.testing.assert_close(discriminator_objective(s, d, batch, fake)[0], d_loss)


def test_mode_seeking_pairs_labels_and_adds_its_term_to_g_only():
    """With gan.mode_seeking_weight the synthetic batch's two halves are asked for the same
    labels, and G's loss is the plain one plus the weight times MSGAN's term on the halves."""
    from dshgan.losses.mode_seeking import mode_seeking_loss
    from dshgan.train.gan_step import discriminator_objective, generator_objective

    plain = GANConfig(width=8, noise_dim=16, batch_size=8)
    s, d, batch, fake = one_batch(GANConfig(width=8, noise_dim=16, batch_size=8,
                                            mode_seeking_weight=0.5), False)
    assert torch.equal(batch.y_fake[:4], batch.y_fake[4:])
    s.discriminator.eval()  # spectral norm's power iteration then leaves D the same per call
    loss = generator_objective(s, d, batch, fake)
    d_loss, _ = discriminator_objective(s, d, batch, fake)
    s.cfg = plain
    without = generator_objective(s, d, batch, fake)
    term = mode_seeking_loss(fake[:4], fake[4:], batch.noise[:4], batch.noise[4:])
    torch.testing.assert_close(loss, without + 0.5 * term)
    torch.testing.assert_close(discriminator_objective(s, d, batch, fake)[0], d_loss)


def test_mode_seeking_off_draws_the_same_batches_as_before():
    from dshgan.train.gan_step import draw_batch

    a = draw_batch(GANState(GANConfig(width=8, noise_dim=16, batch_size=8), 4, 16, CPU, seed=3),
                   data(False), 8, CPU)
    g = torch.Generator().manual_seed(3)  # draw_batch's draws, by hand
    torch.randint(0, 24, (8,), generator=g)  # labelled
    torch.randint(0, 12, (8,), generator=g)  # unlabelled
    fake_idx = torch.randint(0, 24, (8,), generator=g)
    assert torch.equal(a.y_fake, data(False).labels[fake_idx])


@pytest.mark.parametrize("multi_label", [False, True])
def test_with_the_class_projection_d_sees_each_batchs_labels(multi_label, monkeypatch):
    """The labelled batch and the synthetic one are judged with their label vectors, the
    unlabelled images (the second half of the real batch) with none."""
    torch.manual_seed(0)
    s = GANState(GANConfig(steps=3, batch_size=8, width=8, noise_dim=16, class_projection=True),
                 4, 16, CPU, seed=1)
    seen, forward = [], type(s.discriminator).forward

    def spy(self, images, labels=None, multi=False):
        seen.append((len(images), None if labels is None else labels.clone(), multi))
        return forward(self, images, labels, multi)

    monkeypatch.setattr(type(s.discriminator), "forward", spy)
    d_embed = weights(s.discriminator.embeddings)
    gan_step(s, data(multi_label), CPU)
    (real, y_real, m1), (fake, y_fake, m2), (gen, y_gen, m3) = seen
    assert (real, fake, gen) == (16, 8, 8) and m1 == m2 == m3 == multi_label
    assert y_real.shape == (8, 4) and torch.equal(y_fake, y_gen) and y_fake.shape == (8, 4)
    assert all(not torch.equal(a, b) for a, b in zip(d_embed, weights(s.discriminator.embeddings)))


@pytest.mark.parametrize("multi_label", [False, True])
def test_the_twin_classifier_adds_its_loss_to_d_and_minus_it_to_g(multi_label):
    """TAC-GAN: D's loss gains the twin's loss on the synthetic batch's asked labels (weighted as
    D's class term), G's loses the weight times the twin's loss on G's images."""
    from dshgan.losses.classification import classification_loss
    from dshgan.train.gan_step import discriminator_objective, generator_objective

    s, d, batch, fake = one_batch(GANConfig(width=8, noise_dim=16, batch_size=8,
                                            classification_weight=0.5,
                                            twin_classifier_weight=0.25), multi_label)
    s.discriminator.eval()  # spectral norm's power iteration then leaves D the same per call
    g_loss = generator_objective(s, d, batch, fake)
    d_loss, _ = discriminator_objective(s, d, batch, fake)
    twin = classification_loss(s.discriminator(fake).twin_logits, batch.y_fake, multi_label)
    s.cfg = GANConfig(width=8, noise_dim=16, batch_size=8, classification_weight=0.5)
    torch.testing.assert_close(g_loss, generator_objective(s, d, batch, fake) - 0.25 * twin)
    torch.testing.assert_close(d_loss, discriminator_objective(s, d, batch, fake)[0] + 0.5 * twin)
