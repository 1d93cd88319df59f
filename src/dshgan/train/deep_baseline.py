"""Deep supervised hashing baselines trained with the same trunk and budget as DSH-GAN:
DPSH (Li, Wang, Kang, IJCAI 2016; pairwise likelihood) and DTSH (Wang, Shi, Kitani, ACCV 2016;
triplet likelihood), on real labelled images only.

They reuse :class:`HashingNet`'s trunk and hash heads; the loss sees the pre-sigmoid outputs u,
whose sign is exactly the bit the net encodes (sigmoid(u) > 0.5 iff u > 0). "Same budget" means
the same epochs and the same number of images through the CNN per step (DSH-GAN's 3 per anchor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dshgan.config import HashingConfig
from dshgan.losses.dpsh import DPSHLoss
from dshgan.losses.dtsh import DTSHLoss
from dshgan.nets.hashing_net import HashingNet
from dshgan.train.loop import (
    augment,
    load_checkpoint,
    logger,
    rng_state,
    save_checkpoint,
    set_rng_state,
    to_tensor_images,
)
from dshgan.train.stage2_hashing import (
    ValidationPass,
    build_hashing_net,
    leave_one_out_at_best_epoch,
    optimiser_groups,
    track_best_epoch,
)

DEEP_BASELINES = {"dpsh": DPSHLoss, "dtsh": DTSHLoss}


def train_deep_baseline(
    method: str,
    cfg: HashingConfig,
    bits: list[int],
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    device: torch.device,
    checkpoint_path: str | Path,
    seed: int = 0,
    progress: bool = True,
) -> tuple[HashingNet, dict]:
    if method not in DEEP_BASELINES:
        raise ValueError(f"unknown deep baseline {method!r}; known: {sorted(DEEP_BASELINES)}")
    loss_fn = DEEP_BASELINES[method]()
    checkpoint_path = Path(checkpoint_path)
    net = build_hashing_net(cfg, bits, train_labels.shape[1]).to(device)
    # The same parameter groups and peak rates as stage 2 (backbone_lr_scale), for a fair budget.
    groups, peak_lrs = optimiser_groups(net, cfg)
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    batch_size = 3 * cfg.batch_size
    steps_per_epoch = max(1, len(train_images) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=peak_lrs, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.15)
    batches = torch.Generator().manual_seed(seed + 2)
    history: dict = {"loss": [], "val_map": [], "val_map_loo": []}
    epoch, best_score, best_state = 0, -1.0, None
    if checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, device)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        schedule.load_state_dict(state["schedule"])
        history, epoch = state["history"], state["epoch"]
        best_score, best_state = state["best_score"], state["best_state"]
        set_rng_state(state["rng"], batches)

    labels_t = torch.from_numpy(train_labels).float()
    validate = ValidationPass(train_images, train_labels, val_images, val_labels)
    bar = tqdm(total=cfg.epochs * steps_per_epoch, initial=epoch * steps_per_epoch,
               desc=f"{method.upper()} {'/'.join(map(str, bits))} bits", disable=not progress)
    while epoch < cfg.epochs:
        net.train()
        order = torch.randperm(len(train_images), generator=batches)
        for s in range(steps_per_epoch):
            idx = order[s * batch_size:(s + 1) * batch_size]
            x = to_tensor_images(train_images[idx.numpy()], device)
            if cfg.augment:
                x = augment(x, batches)
            y = labels_t[idx].to(device)
            h = net.features(x)
            loss = torch.stack([loss_fn(net.hash_heads[str(b)](h), y).total for b in bits]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            history["loss"].append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        epoch += 1
        val, loo = validate(net, device)
        logger.info("%s %s: epoch %d validation mAP %s, leave-one-out %s", method, bits, epoch,
                    {b: round(v, 4) for b, v in val.items()},
                    {b: round(v, 4) for b, v in loo.items()})
        best_score, best_state = track_best_epoch(net, val, history, best_score, best_state, loo)
        save_checkpoint(checkpoint_path, {
            "net": net.state_dict(), "opt": opt.state_dict(), "schedule": schedule.state_dict(),
            "epoch": epoch, "history": history, "best_score": best_score,
            "best_state": best_state, "rng": rng_state(batches)})
    bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    history["best_val_map"] = best_score
    history["best_val_map_loo"] = leave_one_out_at_best_epoch(history)
    return net.eval(), history
