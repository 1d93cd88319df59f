"""Deep supervised hashing baselines trained with the same trunk and budget as DSH-GAN:
DPSH (Li, Wang, Kang, IJCAI 2016; pairwise likelihood) and DTSH (Wang, Shi, Kitani, ACCV 2016;
triplet likelihood), on real labelled images only.

They reuse :class:`HashingNet`'s trunk and hash heads; the loss sees the pre-sigmoid outputs u,
whose sign is exactly the bit the net encodes (sigmoid(u) > 0.5 iff u > 0). "Same budget" means
the same epochs and the same number of images through the CNN per step (DSH-GAN's 3 per anchor).
Under torchrun each rank takes its share of every batch and the gradients are averaged
(train/distributed.py).
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from dshgan.config import HashingConfig
from dshgan.losses.dpsh import DPSHLoss
from dshgan.losses.dtsh import DTSHLoss
from dshgan.nets.hashing_net import HashingNet
from dshgan.train.best_epoch import TrainingProgress
from dshgan.train.checkpoints import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from dshgan.train.distributed import (
    average_buffers,
    average_param_grads,
    batch_share,
    broadcast_modules,
    checkpoint_rng,
    epoch_order,
    from_main,
    is_main,
    mean_over_ranks,
    own_rng,
    rank_seed,
)
from dshgan.train.epoch_position import CHECKPOINT_EVERY_STEPS, checkpoint_due, start_or_continue
from dshgan.train.hashing_data import HashingData
from dshgan.train.hashing_setup import build_hashing_net, net_optimiser
from dshgan.train.image_tensors import augment
from dshgan.train.runtime import logger
from dshgan.train.triplet_sources import LabelledImages
from dshgan.train.validation import ValidationPass

DEEP_BASELINES = {"dpsh": DPSHLoss, "dtsh": DTSHLoss}


def train_deep_baseline(
    method: str, cfg: HashingConfig, bits: list[int], data: HashingData, device: torch.device,
    checkpoint_path: str | Path, seed: int = 0, progress: bool = True,
    checkpoint_every: int = CHECKPOINT_EVERY_STEPS,
) -> tuple[HashingNet, dict]:
    """Train (or resume) one net with a head per entry of ``bits`` on ``data``'s labelled
    images; returns it at its best validation epoch, and the history. A checkpoint is written
    at every epoch's end and every ``checkpoint_every`` steps."""
    if method not in DEEP_BASELINES:
        raise ValueError(f"unknown deep baseline {method!r}; known: {sorted(DEEP_BASELINES)}")
    loss_fn = DEEP_BASELINES[method]()
    checkpoint_path = Path(checkpoint_path)
    net = build_hashing_net(cfg, bits, data.num_classes).to(device)
    broadcast_modules(net)
    # The same parameter groups and peak rates as stage 2 (backbone_lr_scale), for a fair budget.
    batch_size = 3 * cfg.batch_size
    steps_per_epoch = max(1, len(data.train_images) // batch_size)
    params, opt, schedule = net_optimiser(net, cfg, cfg.epochs * steps_per_epoch)
    batches = torch.Generator().manual_seed(rank_seed(seed) + 2)  # this rank's draws
    run = _resume(checkpoint_path, device, net, opt, schedule, batches) or TrainingProgress(
        {"loss": [], "val_map": [], "val_map_loo": []})
    images = LabelledImages(data.train_images, augment if cfg.augment else None, batches, device)
    labels_t = torch.from_numpy(data.train_labels).float()
    validate = ValidationPass(*data.validation_database, data.val_images, data.val_labels)
    bar = tqdm(total=cfg.epochs * steps_per_epoch, initial=run.steps_done(steps_per_epoch),
               desc=f"{method.upper()} {'/'.join(map(str, bits))} bits", disable=not progress)

    def save() -> None:  # every rank calls it (their random states are gathered)
        rng = checkpoint_rng(rng_state(batches))
        if is_main():
            save_checkpoint(checkpoint_path, {
                "net": net.state_dict(), "opt": opt.state_dict(),
                "schedule": schedule.state_dict(), **run.state(), **rng})

    while run.epoch < cfg.epochs:
        net.train()
        run.position = at = start_or_continue(run.position, lambda: epoch_order(
            len(data.train_images), batches, seed, run.epoch))
        for s in range(at.done, steps_per_epoch):
            batch = at.order[s * batch_size:(s + 1) * batch_size]
            idx = batch[batch_share(len(batch))]  # this rank's share (all of it in one process)
            x = images(idx)
            y = labels_t[idx].to(device)
            h = net.features(x)
            loss = torch.stack([loss_fn(net.hash_heads[str(b)](h), y).total for b in bits]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            average_param_grads(params, len(idx))
            opt.step()
            schedule.step()
            logged = mean_over_ranks([loss.item()], len(idx))[0]
            run.history["loss"].append(logged)
            bar.update(1)
            bar.set_postfix(loss=f"{logged:.3f}")
            at.done = s + 1
            if checkpoint_due(at.done, steps_per_epoch, checkpoint_every):
                save()
        run.end_epoch()
        average_buffers(net)
        val, loo = from_main(lambda: validate(net, device))  # rank 0 scores, all record
        logger.info("%s %s: epoch %d validation mAP %s, leave-one-out %s", method, bits,
                    run.epoch, {b: round(v, 4) for b, v in val.items()},
                    {b: round(v, 4) for b, v in loo.items()})
        run.record_epoch(net, val, loo)
        save()
    bar.close()
    return run.finish(net)


def _resume(path: Path, device, net: HashingNet, opt, schedule, batches: torch.Generator
            ) -> TrainingProgress | None:
    if not path.exists():
        return None
    state = load_checkpoint(path, device)
    net.load_state_dict(state["net"])
    opt.load_state_dict(state["opt"])
    schedule.load_state_dict(state["schedule"])
    set_rng_state(own_rng(state, path), batches)
    return TrainingProgress.from_state(state)
