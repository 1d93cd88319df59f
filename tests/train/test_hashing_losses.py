import pytest
import torch

from dshgan.config import HashingConfig
from dshgan.losses.adversarial import discriminator_loss, generator_loss
from dshgan.losses.classification import classification_loss
from dshgan.losses.triplet import TripletRankingLoss
from dshgan.nets.hashing_net import HashingOutput
from dshgan.train.hashing_losses import hashing_losses
from dshgan.train.triplet_sources import Triplets

CPU = torch.device("cpu")


def triplets(synthetic):
    g = torch.Generator().manual_seed(0)
    n = 4
    out = HashingOutput(torch.randn(3 * n, generator=g), {8: torch.rand(3 * n, 8, generator=g)},
                        torch.randn(3 * n, 3, generator=g))
    y = torch.eye(3)[torch.tensor([0, 1, 2, 0])]
    return Triplets(out, y, torch.eye(3)[torch.tensor([1, 2, 0, 1])], synthetic)


def parts(t, cfg):
    n, h = t.n, t.out.hash[8]
    trip = TripletRankingLoss(cfg.margin)(h[:n], h[n:2 * n], h[2 * n:]).loss
    cls = classification_loss(t.out.class_logits, torch.cat([t.y, t.y, t.y_neg]), False)
    return trip, cls


@pytest.mark.parametrize("adversary, classification", [(True, True), (False, True),
                                                       (True, False), (False, False)])
def test_each_switch_adds_its_stream_and_only_that(adversary, classification):
    cfg = HashingConfig(use_adversary_stream=adversary, use_classification_stream=classification,
                        triplet_weight=1.5, adversarial_weight=0.3, classification_weight=0.7)
    t = triplets(synthetic=True)
    terms = hashing_losses(cfg, False, None, torch.Generator(), CPU)(None, t)
    trip, cls = parts(t, cfg)
    adv = discriminator_loss(t.out.real_logit[:4], t.out.real_logit[4:])
    fool = generator_loss(t.out.real_logit[4:], cfg.generator_adversarial)
    want_net = 1.5 * trip + (0.3 * adv if adversary else 0) + (0.7 * cls if classification else 0)
    want_gen = 1.5 * trip + (0.3 * fool if adversary else 0) + (0.7 * cls if classification else 0)
    assert terms.net.item() == pytest.approx(float(want_net), rel=1e-6)
    assert terms.generator.item() == pytest.approx(float(want_gen), rel=1e-6)
    assert (terms.adversarial.item() != 0) == adversary
    assert (terms.classification.item() != 0) == classification
    assert terms.consistency is None


def test_with_real_triplets_the_adversary_only_learns_real():
    cfg = HashingConfig(use_classification_stream=False)
    t = triplets(synthetic=False)
    terms = hashing_losses(cfg, False, None, torch.Generator(), CPU)(None, t)
    assert terms.adversarial.item() == pytest.approx(
        discriminator_loss(t.out.real_logit, t.out.real_logit[:0]).item())
