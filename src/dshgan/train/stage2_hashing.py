"""Stage 2: joint training of the hashing net and the generator (Qiu et al., SIGIR 2017, Sec. 3.3).

For each real labelled image x with labels y: x+ = G(z, y) and x- = G(z', y') with y' sharing no
label with y. Both updates use one forward pass (simultaneous gradient steps). Switches turn parts
off for ablations. The epoch kept is the one with the best mAP of the validation split (never the
test queries). With ``weight_average_decay`` > 0 the moving average of the weights is what is
validated and kept; the raw weights' leave-one-out view is logged beside it for comparison.

The parts, each in its own module: where triplets come from (triplet_sources.py), which losses
apply (hashing_losses.py), what a step changes (hashing_step.py), validation (validation.py),
which epoch is kept (best_epoch.py), checkpoint and resume (hashing_checkpoint.py). This module
checks the options and runs the epochs. Under torchrun each rank takes its share of every batch
of anchors and draws its own triplets (train/distributed.py).
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from dshgan.config import HashingConfig
from dshgan.nets.generator import ConditionalGenerator
from dshgan.nets.hashing_net import HashingNet
from dshgan.train.best_epoch import TrainingProgress
from dshgan.train.distributed import (
    batch_share,
    broadcast_modules,
    epoch_order,
    from_main,
    mean_over_ranks,
    rank_seed,
)
from dshgan.train.epoch_position import CHECKPOINT_EVERY_STEPS, checkpoint_due, start_or_continue
from dshgan.train.hashing_checkpoint import resume_hashing, save_hashing_checkpoint
from dshgan.train.hashing_data import HashingData
from dshgan.train.hashing_losses import HashingLosses, hashing_losses
from dshgan.train.hashing_setup import build_hashing_net
from dshgan.train.hashing_step import HashingUpdate
from dshgan.train.runtime import logger
from dshgan.train.triplet_sources import LABELLED_AUGMENTATIONS, triplet_source
from dshgan.train.validation import ValidationPass

HISTORY_KEYS = ("loss", "triplet", "adversarial", "classification", "generator", "val_map",
                "val_map_loo", "consistency", "confident")


def check_options(cfg: HashingConfig, data: HashingData,
                  generator: ConditionalGenerator | None) -> None:
    """Refuse combinations that cannot train, before anything is built."""
    if cfg.use_synthetic and generator is None:
        raise ValueError("use_synthetic=True needs the stage-1 generator")
    if cfg.consistency_weight > 0:
        if not data.has_unlabelled:
            raise ValueError("consistency_weight > 0 needs unlabelled images (the unlabelled "
                             "pool)")
        if not (0 < cfg.consistency_threshold <= 1 and cfg.consistency_batch_size >= 1):
            raise ValueError(f"consistency_threshold must be in (0, 1] and "
                             f"consistency_batch_size >= 1, got {cfg.consistency_threshold} "
                             f"and {cfg.consistency_batch_size}")
    if cfg.labelled_augment not in LABELLED_AUGMENTATIONS:
        raise ValueError(f"labelled_augment must be one of {sorted(LABELLED_AUGMENTATIONS)}, "
                         f"got {cfg.labelled_augment!r}")
    if cfg.cached_views < 0 or (cfg.cached_views and cfg.use_synthetic):
        raise ValueError(f"cached_views must be >= 0 and needs real triplets (use_synthetic: "
                         f"false; synthetic images change every step), got {cfg.cached_views}")


def train_hashing(
    cfg: HashingConfig, bits: list[int], data: HashingData,
    generator: ConditionalGenerator | None, device: torch.device, checkpoint_path: str | Path,
    seed: int = 0, progress: bool = True, init_state: dict | None = None,
    checkpoint_every: int = CHECKPOINT_EVERY_STEPS,
) -> tuple[HashingNet, dict]:
    """Train (or resume) one hashing net with a head per entry of ``bits``; returns the net at
    its best validation epoch and the history (losses per step, validation mAP per epoch).
    ``init_state`` starts from trained weights (self-training rounds) instead of ImageNet's.
    A checkpoint is written at every epoch's end and every ``checkpoint_every`` steps."""
    check_options(cfg, data, generator)
    checkpoint_path = Path(checkpoint_path)
    net = build_hashing_net(cfg, bits, data.num_classes).to(device)
    if init_state is not None:
        net.load_state_dict(init_state)
    broadcast_modules(net)
    steps_per_epoch = max(1, len(data.train_images) // cfg.batch_size)
    update = HashingUpdate(cfg, net, generator, device, cfg.epochs * steps_per_epoch)
    # Every draw of this rank, in a fixed order (a plain process: rank_seed(seed) == seed).
    shared_seed, seed = seed, rank_seed(seed)
    batches = torch.Generator().manual_seed(seed + 1)
    run = resume_hashing(checkpoint_path, device, net, update, batches)
    if run is None:
        run = TrainingProgress({k: [] for k in HISTORY_KEYS})
    else:
        within = (f", step {run.position.done}/{steps_per_epoch} of the next"
                  if run.position else "")
        logger.info("stage 2 %s: resumed at epoch %d/%d%s", bits, run.epoch, cfg.epochs, within)
    if run.epoch < cfg.epochs:  # a finished run builds no source (no cache of views)
        source = triplet_source(cfg, data, net, generator, batches, device, seed, progress)
        losses = hashing_losses(cfg, data.multi_label, data.unlabelled, batches, device)
    validate = ValidationPass(*data.validation_database, data.val_images, data.val_labels)
    bar = tqdm(total=cfg.epochs * steps_per_epoch, initial=run.steps_done(steps_per_epoch),
               disable=not progress, desc=f"stage 2 hashing {'/'.join(map(str, bits))} bits")
    while run.epoch < cfg.epochs:
        net.train()
        run.position = at = start_or_continue(run.position, lambda: epoch_order(
            len(data.train_images), batches, shared_seed, run.epoch))
        for s in range(at.done, steps_per_epoch):
            batch = at.order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            logged = train_step(net, batch[batch_share(len(batch))], source, losses, update,
                                run.history)
            if logged is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{logged[0]:.3f}", trip=f"{logged[1]:.3f}")
            at.done = s + 1
            if checkpoint_due(at.done, steps_per_epoch, checkpoint_every):
                save_hashing_checkpoint(checkpoint_path, net, update, run, batches, bits)
        run.end_epoch()
        update.average_buffers(net)
        validate_epoch(net, update, validate, run, bits, cfg.epochs, device)
        save_hashing_checkpoint(checkpoint_path, net, update, run, batches, bits)
    bar.close()
    return run.finish(net)


def train_step(net: HashingNet, idx: torch.Tensor, source, losses: HashingLosses,
               update: HashingUpdate, history: dict) -> list[float] | None:
    """One step on the anchors ``idx`` (this rank's share): triplets, losses, update, history.
    Returns the logged losses (net, triplet, adversarial, classification, generator; the global
    batch's under torchrun), or None (and nothing changes) when no anchor has a triplet."""
    triplets = source(net, idx)
    terms = losses(net, triplets) if triplets is not None else None
    n = triplets.n if triplets is not None else 0
    if terms is not None and terms.consistency is not None:
        history.setdefault("consistency", []).append(terms.consistency.loss.item())
        history.setdefault("confident", []).append(terms.consistency.confident)
    if not update.apply(net, terms, n):
        return None
    logged = [0.0] * 5
    if terms is not None:
        logged = [terms.net.item(), terms.triplet.item(), terms.adversarial.item(),
                  terms.classification.item(),
                  terms.generator.item() if update.updates_generator else 0.0]
    logged = mean_over_ranks(logged, n)
    for key, value in zip(("loss", "triplet", "adversarial", "classification", "generator"),
                          logged):
        history[key].append(value)
    return logged


def validate_epoch(net: HashingNet, update: HashingUpdate, validate: ValidationPass,
                   run: TrainingProgress, bits: list[int], epochs: int, device) -> None:
    """Score the kept weights (the average when there is one) and record the epoch; with an
    average, the raw weights' leave-one-out view is logged beside it."""
    kept = update.kept(net)
    val, loo = from_main(lambda: validate(kept, device))  # rank 0 scores, every rank records
    logger.info("stage 2 %s: epoch %d/%d validation mAP %s, leave-one-out %s%s", bits,
                run.epoch, epochs, _rounded(val), _rounded(loo),
                " (weight average)" if update.average is not None else "")
    if update.average is not None and len(validate.val_labels):
        raw = from_main(lambda: validate.leave_one_out(net, device))
        run.history.setdefault("val_map_loo_raw", []).append(
            {str(b): v for b, v in raw.items()})
        logger.info("stage 2 %s: epoch %d/%d raw weights leave-one-out %s", bits, run.epoch,
                    epochs, _rounded(raw))
    run.record_epoch(kept, val, loo)


def _rounded(scores: dict[int, float]) -> dict[int, float]:
    return {b: round(v, 4) for b, v in scores.items()}
