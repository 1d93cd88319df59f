"""Stage 2: joint training of the hashing net and the generator (Qiu et al., SIGIR 2017, Sec. 3.3).

For each real labelled image x with labels y: x+ = G(z, y) and x- = G(z', y') with y' sharing no
label with y. The CNN minimises  triplet + adversarial (over x, x+, x-) + classification; the
generator minimises  triplet - adversarial + classification, i.e. it makes triplets that are
informative, look real to the adversary stream, and stay recognisable as their labels. Both
updates use one forward pass (simultaneous gradient steps). Switches turn parts off for ablations.
The epoch kept is the one with the best mAP of the validation split (never the test queries).
With ``weight_average_decay`` > 0 the moving average of the weights is what is validated and
kept; the raw weights' leave-one-out view is logged beside it for comparison.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dshgan.config import HashingConfig
from dshgan.losses.adversarial import discriminator_loss, generator_loss
from dshgan.losses.classification import classification_loss
from dshgan.losses.triplet import TripletRankingLoss
from dshgan.nets.generator import ConditionalGenerator
from dshgan.nets.hashing_net import HashingNet
from dshgan.train.consistency import consistency_term, strong_augment
from dshgan.train.encoding import FrozenPartOutputs, encode_images
from dshgan.train.loop import (
    augment,
    load_checkpoint,
    logger,
    rng_state,
    save_checkpoint,
    set_rng_state,
    to_tensor_images,
)
from dshgan.train.prefix_cache import CachedViews
from dshgan.train.triplets import sample_disjoint_labels, sample_matching
from dshgan.train.weight_average import WeightAverage

LABELLED_AUGMENTATIONS = {"weak": augment, "strong": strong_augment}


def _map_against(q: dict, q_labels, db: dict, db_labels) -> dict[int, float]:
    from dshgan.metrics import mean_average_precision

    return {b: float(mean_average_precision(q[b], q_labels, db[b], db_labels)) for b in q}


def _leave_one_out_map(codes: dict, labels) -> dict[int, float]:
    from dshgan.metrics import leave_one_out_average_precisions

    if len(labels) < 2:  # nothing to rank against
        return {b: 0.0 for b in codes}
    return {b: float(np.mean(leave_one_out_average_precisions(c, labels)))
            for b, c in codes.items()}


def validation_map(
    net: HashingNet, train_images, train_labels, val_images, val_labels, device
) -> dict[int, float]:
    """mAP of validation images as queries against the labelled training set as database."""
    return _map_against(encode_images(net, val_images, device), val_labels,
                        encode_images(net, train_images, device), train_labels)


def validation_map_leave_one_out(net: HashingNet, val_images, val_labels, device
                                 ) -> dict[int, float]:
    """mAP of each validation image against the other validation images only.

    Why: against the training images (``validation_map``) the score rewards memorising them and
    saturates; against each other the images are all unseen, as in the test protocol, so this is
    the view to compare configurations (input size, epochs) with. Logged, not used to pick epochs.
    """
    return _leave_one_out_map(encode_images(net, val_images, device), val_labels)


def validation_maps(net: HashingNet, db_images, db_labels, val_images, val_labels, device
                    ) -> tuple[dict[int, float], dict[int, float]]:
    """Both views (against ``db``, and leave-one-out) from one encoding of the validation images."""
    return _both_views(encode_images(net, val_images, device), val_labels,
                       encode_images(net, db_images, device), db_labels)


def _both_views(q: dict, q_labels, db: dict, db_labels
                ) -> tuple[dict[int, float], dict[int, float]]:
    return _map_against(q, q_labels, db, db_labels), _leave_one_out_map(q, q_labels)


class ValidationPass:
    """``validation_maps`` epoch after epoch on the same images, which are not augmented, so
    the trunk's frozen part runs on them once (``FrozenPartOutputs``; the same numbers, and
    about a quarter of the cost from the second pass on, ``benchmarks/bench_validation_pass.py``).
    """

    def __init__(self, db_images, db_labels, val_images, val_labels):
        self.db, self.db_labels = FrozenPartOutputs(db_images), db_labels
        self.val, self.val_labels = FrozenPartOutputs(val_images), val_labels

    def __call__(self, net: HashingNet, device) -> tuple[dict[int, float], dict[int, float]]:
        if not len(self.val_labels):
            return {b: 0.0 for b in net.bits}, {b: 0.0 for b in net.bits}
        return _both_views(self.val.codes(net, device), self.val_labels,
                           self.db.codes(net, device), self.db_labels)

    def leave_one_out(self, net: HashingNet, device) -> dict[int, float]:
        return _leave_one_out_map(self.val.codes(net, device), self.val_labels)


def leave_one_out_at_best_epoch(history: dict) -> float | None:
    """Mean leave-one-out validation mAP of the epoch ``track_best_epoch`` kept."""
    loo, best = history.get("val_map_loo") or [], history.get("best_epoch")
    if best is None or len(loo) != len(history["val_map"]):  # resumed from an older checkpoint
        return None
    return float(np.mean(list(loo[best].values())))


def track_best_epoch(net: HashingNet, val: dict[int, float], history: dict, best_score: float,
                     best_state: dict | None, loo: dict[int, float] | None = None
                     ) -> tuple[float, dict | None]:
    """Record one epoch's validation mAP; return (score, weights) of the best epoch so far.

    Both stage 2 and the deep baselines select their epoch this way (mean over code lengths);
    the kept epoch's index goes to ``history["best_epoch"]``. ``loo``, the leave-one-out view,
    is recorded beside it (``history["val_map_loo"]``) but does not choose.
    """
    if loo is not None:
        history.setdefault("val_map_loo", []).append({str(b): v for b, v in loo.items()})
    history["val_map"].append({str(b): v for b, v in val.items()})
    score = float(np.mean(list(val.values())))
    if score > best_score:
        history["best_epoch"] = len(history["val_map"]) - 1
        return score, copy.deepcopy(net.state_dict())
    return best_score, best_state


def build_hashing_net(cfg: HashingConfig, bits: list[int], num_classes: int) -> HashingNet:
    return HashingNet(cfg.backbone, bits, num_classes, backbone_kwargs=dict(cfg.backbone_kwargs))


def optimiser_groups(net: HashingNet, cfg: HashingConfig) -> tuple[list[dict], list[float]]:
    """The trainable parameters as optimiser groups, and each group's peak learning rate.

    With ``backbone_lr_scale`` 1 there is one group (as checkpoints from before the option
    expect); otherwise the trunk's parameters get ``lr * backbone_lr_scale`` and the streams'
    heads ``lr``: fresh heads need large steps, pretrained weights are easily pushed too far
    from what ImageNet taught them when only a few thousand labels pull on them.
    """
    if cfg.backbone_lr_scale < 0:
        raise ValueError(f"backbone_lr_scale must be >= 0, got {cfg.backbone_lr_scale}")
    trunk = {id(p) for p in net.backbone.parameters()}
    trainable = [p for p in net.parameters() if p.requires_grad]
    if cfg.backbone_lr_scale == 1.0:
        return [{"params": trainable}], [cfg.lr]
    groups = [{"params": [p for p in trainable if id(p) in trunk]},
              {"params": [p for p in trainable if id(p) not in trunk]}]
    return groups, [cfg.lr * cfg.backbone_lr_scale, cfg.lr]


def real_triplet_rows(y: torch.Tensor, idx: torch.Tensor, labels: torch.Tensor,
                      generator: torch.Generator
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each anchor, the row of a real labelled positive and negative; anchors lacking one
    (rare, dense multi-label) sit out: returns (keep mask, positives, negatives of the kept)."""
    pos_rows = sample_matching(y.cpu(), labels, True, generator, exclude=idx, allow_missing=True)
    neg_rows = sample_matching(y.cpu(), labels, False, generator, allow_missing=True)
    keep = (pos_rows >= 0) & (neg_rows >= 0)
    return keep, pos_rows[keep], neg_rows[keep]


def train_hashing(
    cfg: HashingConfig,
    bits: list[int],
    generator: ConditionalGenerator | None,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    multi_label: bool,
    device: torch.device,
    checkpoint_path: str | Path,
    seed: int = 0,
    progress: bool = True,
    init_state: dict | None = None,
    val_database: tuple[np.ndarray, np.ndarray] | None = None,
    unlabelled_images: np.ndarray | None = None,
) -> tuple[HashingNet, dict]:
    """Train (or resume) one hashing net with a head per entry of ``bits``; returns the net at
    its best validation epoch and the history (losses per step, validation mAP per epoch).
    ``init_state`` starts from trained weights (self-training rounds) instead of ImageNet's.
    ``val_database`` (images, labels) is what validation queries rank (default: the training
    set); self-training passes the truly labelled images so rounds are scored alike.
    ``unlabelled_images`` feed the consistency term when ``cfg.consistency_weight`` > 0."""
    if cfg.use_synthetic and generator is None:
        raise ValueError("use_synthetic=True needs the stage-1 generator")
    use_consistency = cfg.consistency_weight > 0
    if use_consistency and (unlabelled_images is None or len(unlabelled_images) == 0):
        raise ValueError("consistency_weight > 0 needs unlabelled images (the unlabelled pool)")
    if use_consistency and not (0 < cfg.consistency_threshold <= 1
                                and cfg.consistency_batch_size >= 1):
        raise ValueError(f"consistency_threshold must be in (0, 1] and consistency_batch_size "
                         f">= 1, got {cfg.consistency_threshold} and "
                         f"{cfg.consistency_batch_size}")
    if cfg.labelled_augment not in LABELLED_AUGMENTATIONS:
        raise ValueError(f"labelled_augment must be one of {sorted(LABELLED_AUGMENTATIONS)}, "
                         f"got {cfg.labelled_augment!r}")
    augment_labelled = LABELLED_AUGMENTATIONS[cfg.labelled_augment]
    if cfg.cached_views < 0 or (cfg.cached_views and cfg.use_synthetic):
        raise ValueError(f"cached_views must be >= 0 and needs real triplets (use_synthetic: "
                         f"false; synthetic images change every step), got {cfg.cached_views}")
    checkpoint_path = Path(checkpoint_path)
    num_classes = train_labels.shape[1]
    net = build_hashing_net(cfg, bits, num_classes).to(device)
    if init_state is not None:
        net.load_state_dict(init_state)
    groups, peak_lrs = optimiser_groups(net, cfg)
    net_params = [p for g in groups for p in g["params"]]
    opt_net = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(train_images) // cfg.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        opt_net, max_lr=peak_lrs, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15
    )
    update_generator = cfg.use_synthetic and not cfg.freeze_generator
    if generator is not None:
        generator = generator.to(device)
        generator.train(update_generator)
        generator.requires_grad_(update_generator)
    opt_g = (torch.optim.Adam(generator.parameters(), lr=cfg.generator_lr, betas=(0.5, 0.999))
             if update_generator else None)
    triplet_loss = TripletRankingLoss(cfg.margin)
    average = WeightAverage(net, cfg.weight_average_decay) if cfg.weight_average_decay else None
    batches = torch.Generator().manual_seed(seed + 1)
    history: dict = {"loss": [], "triplet": [], "adversarial": [], "classification": [],
                     "generator": [], "val_map": [], "val_map_loo": [], "consistency": [],
                     "confident": []}
    epoch, best_score, best_state = 0, -1.0, None

    if checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, device)
        net.load_state_dict(state["net"])
        opt_net.load_state_dict(state["opt_net"])
        schedule.load_state_dict(state["schedule"])
        if generator is not None and state.get("generator") is not None:
            generator.load_state_dict(state["generator"])
        if opt_g is not None and state.get("opt_g") is not None:
            opt_g.load_state_dict(state["opt_g"])
        history, epoch = state["history"], state["epoch"]
        best_score, best_state = state["best_score"], state["best_state"]
        set_rng_state(state["rng"], batches)
        if average is not None:
            if state.get("weight_average") is None:
                raise ValueError(f"{checkpoint_path} was trained without a weight average; "
                                 "resume it with weight_average_decay: 0 or use a new --out")
            average.load_state_dict(state["weight_average"])
        logger.info("stage 2 %s: resumed at epoch %d/%d", bits, epoch, cfg.epochs)

    views = None
    if cfg.cached_views and epoch < cfg.epochs:  # a finished run needs no cache
        # Frozen weights never change, so the same seed rebuilds the same cache on resume.
        views = CachedViews.build(
            net, train_images, cfg.cached_views,
            augment_labelled if cfg.augment else (lambda x, _: x),
            torch.Generator().manual_seed(seed + 3), device, progress=progress)
    labels_t = torch.from_numpy(train_labels).float()
    if val_database is None:
        val_database = (train_images, train_labels)
    validate = ValidationPass(*val_database, val_images, val_labels)
    noise_dim = generator.noise_dim if generator is not None else 0
    total = cfg.epochs * steps_per_epoch
    bar = tqdm(total=total, initial=epoch * steps_per_epoch, disable=not progress,
               desc=f"stage 2 hashing {'/'.join(map(str, bits))} bits")
    while epoch < cfg.epochs:
        net.train()
        order = torch.randperm(len(train_images), generator=batches)
        for s in range(steps_per_epoch):
            idx = order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            y = labels_t[idx].to(device)
            if views is not None:
                keep, pos_rows, neg_rows = real_triplet_rows(y, idx, labels_t, batches)
                if not keep.any():
                    continue
                idx = idx[keep]
                y, y_neg = labels_t[idx].to(device), labels_t[neg_rows].to(device)
                out = net.forward_from_prefix(
                    views.sample(torch.cat([idx, pos_rows, neg_rows]), batches))
            else:
                x = to_tensor_images(train_images[idx.numpy()], device)
                if cfg.augment:
                    x = augment_labelled(x, batches)
                if cfg.use_synthetic:
                    y_neg = sample_disjoint_labels(y.cpu(), labels_t, batches).to(device)
                    z = torch.randn(2 * len(idx), noise_dim, generator=batches).to(device)
                    synthetic = generator(z, torch.cat([y, y_neg]))
                    x_pos, x_neg = synthetic[: len(idx)], synthetic[len(idx):]
                else:
                    keep, pos_rows, neg_rows = real_triplet_rows(y, idx, labels_t, batches)
                    if not keep.any():
                        continue
                    x, y, idx = x[keep.to(device)], y[keep.to(device)], idx[keep]
                    y_neg = labels_t[neg_rows].to(device)
                    x_pos = to_tensor_images(train_images[pos_rows.numpy()], device)
                    x_neg = to_tensor_images(train_images[neg_rows.numpy()], device)
                    if cfg.augment:
                        x_pos = augment_labelled(x_pos, batches)
                        x_neg = augment_labelled(x_neg, batches)
                out = net(torch.cat([x, x_pos, x_neg]))
            n = len(idx)
            trip = torch.stack([
                triplet_loss(h[:n], h[n:2 * n], h[2 * n:]).loss for h in out.hash.values()
            ]).mean()
            net_loss = cfg.triplet_weight * trip
            gen_loss = cfg.triplet_weight * trip
            adv = cls = torch.zeros((), device=device)
            if cfg.use_adversary_stream:
                if cfg.use_synthetic:
                    adv = discriminator_loss(out.real_logit[:n], out.real_logit[n:])
                    gen_loss = gen_loss + cfg.adversarial_weight * generator_loss(
                        out.real_logit[n:], cfg.generator_adversarial)
                else:  # every image is real: the stream only learns "real"
                    adv = discriminator_loss(out.real_logit, out.real_logit[:0])
                net_loss = net_loss + cfg.adversarial_weight * adv
            if cfg.use_classification_stream:
                cls = classification_loss(out.class_logits, torch.cat([y, y, y_neg]), multi_label)
                net_loss = net_loss + cfg.classification_weight * cls
                gen_loss = gen_loss + cfg.classification_weight * cls
            if use_consistency:
                pick = torch.randint(len(unlabelled_images), (cfg.consistency_batch_size,),
                                     generator=batches).numpy()
                u = to_tensor_images(unlabelled_images[pick], device)
                term = consistency_term(net, augment(u, batches), strong_augment(u, batches),
                                        multi_label, cfg.consistency_threshold)
                net_loss = net_loss + cfg.consistency_weight * term.loss
                history.setdefault("consistency", []).append(term.loss.item())
                history.setdefault("confident", []).append(term.confident)

            grads = torch.autograd.grad(net_loss, net_params, retain_graph=update_generator,
                                        allow_unused=True)
            if update_generator:
                g_params = list(generator.parameters())
                g_grads = torch.autograd.grad(gen_loss, g_params, allow_unused=True)
                for p, g in zip(g_params, g_grads):
                    p.grad = g
                opt_g.step()
            for p, g in zip(net_params, grads):
                p.grad = g
            opt_net.step()
            schedule.step()
            if average is not None:
                average.update(net)

            history["loss"].append(net_loss.item())
            history["triplet"].append(trip.item())
            history["adversarial"].append(adv.item())
            history["classification"].append(cls.item())
            history["generator"].append(gen_loss.item() if update_generator else 0.0)
            bar.update(1)
            bar.set_postfix(loss=f"{net_loss.item():.3f}", trip=f"{trip.item():.3f}")

        epoch += 1
        kept = average.shadow if average is not None else net
        val, loo = validate(kept, device)
        logger.info("stage 2 %s: epoch %d/%d validation mAP %s, leave-one-out %s%s", bits, epoch,
                    cfg.epochs, {b: round(v, 4) for b, v in val.items()},
                    {b: round(v, 4) for b, v in loo.items()},
                    " (weight average)" if average is not None else "")
        if average is not None and len(val_images):
            raw = validate.leave_one_out(net, device)
            history.setdefault("val_map_loo_raw", []).append({str(b): v for b, v in raw.items()})
            logger.info("stage 2 %s: epoch %d/%d raw weights leave-one-out %s", bits, epoch,
                        cfg.epochs, {b: round(v, 4) for b, v in raw.items()})
        best_score, best_state = track_best_epoch(kept, val, history, best_score, best_state, loo)
        save_checkpoint(checkpoint_path, {
            "net": net.state_dict(), "opt_net": opt_net.state_dict(),
            "schedule": schedule.state_dict(),
            "generator": generator.state_dict() if generator is not None else None,
            "opt_g": opt_g.state_dict() if opt_g is not None else None,
            "epoch": epoch, "history": history, "best_score": best_score,
            "best_state": best_state, "rng": rng_state(batches), "bits": bits,
            "weight_average": average.state_dict() if average is not None else None,
        })
    bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    history["best_val_map"] = best_score
    history["best_val_map_loo"] = leave_one_out_at_best_epoch(history)
    net.eval()
    return net, history
