"""Which losses a stage-2 step minimises, from the config's stream switches.

The hashing net minimises  triplet + adversarial + classification (+ consistency on the
unlabelled pool); the generator minimises  triplet - adversarial + classification: it makes
triplets that are informative, look real to the adversary stream and stay recognisable as
their labels (Qiu et al., SIGIR 2017, Sec. 3.3). A switched-off stream adds nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from dshgan.config import HashingConfig
from dshgan.losses.adversarial import discriminator_loss, generator_loss
from dshgan.losses.classification import classification_loss
from dshgan.losses.triplet import TripletRankingLoss
from dshgan.nets.hashing_net import HashingNet
from dshgan.train.consistency import ConsistencyTerm, PoolConsistency
from dshgan.train.distributed import share_size
from dshgan.train.triplet_sources import Triplets


class LossTerms(NamedTuple):
    net: torch.Tensor  # what the hashing net minimises
    generator: torch.Tensor  # what the generator minimises
    triplet: torch.Tensor
    adversarial: torch.Tensor
    classification: torch.Tensor
    consistency: ConsistencyTerm | None  # None when the term is off


class HashingLosses:
    def __init__(self, cfg: HashingConfig, multi_label: bool, device: torch.device,
                 consistency: PoolConsistency | None = None):
        self.cfg, self.multi_label, self.device = cfg, multi_label, device
        self.triplet = TripletRankingLoss(cfg.margin)
        self.consistency = consistency

    def __call__(self, net: HashingNet, t: Triplets) -> LossTerms:
        cfg, n, out = self.cfg, t.n, t.out
        trip = torch.stack([
            self.triplet(h[:n], h[n:2 * n], h[2 * n:]).loss for h in out.hash.values()
        ]).mean()
        net_loss = cfg.triplet_weight * trip
        gen_loss = cfg.triplet_weight * trip
        adv = cls = torch.zeros((), device=self.device)
        if cfg.use_adversary_stream:
            if t.synthetic:
                adv = discriminator_loss(out.real_logit[:n], out.real_logit[n:])
                gen_loss = gen_loss + cfg.adversarial_weight * generator_loss(
                    out.real_logit[n:], cfg.generator_adversarial)
            else:  # every image is real: the stream only learns "real"
                adv = discriminator_loss(out.real_logit, out.real_logit[:0])
            net_loss = net_loss + cfg.adversarial_weight * adv
        if cfg.use_classification_stream:
            cls = classification_loss(out.class_logits, torch.cat([t.y, t.y, t.y_neg]),
                                      self.multi_label)
            net_loss = net_loss + cfg.classification_weight * cls
            gen_loss = gen_loss + cfg.classification_weight * cls
        term = self.consistency(net) if self.consistency is not None else None
        if term is not None:
            net_loss = net_loss + cfg.consistency_weight * term.loss
        return LossTerms(net_loss, gen_loss, trip, adv, cls, term)


def hashing_losses(cfg: HashingConfig, multi_label: bool, pool, rng: torch.Generator,
                   device: torch.device) -> HashingLosses:
    """The losses ``cfg`` switches on; the consistency term draws from ``pool`` with ``rng``."""
    consistency = None
    if cfg.consistency_weight > 0:
        # Under torchrun each rank takes its share of the unlabelled batch, as of the anchors.
        consistency = PoolConsistency(pool, share_size(cfg.consistency_batch_size),
                                      cfg.consistency_threshold, multi_label, rng, device)
    return HashingLosses(cfg, multi_label, device, consistency)
