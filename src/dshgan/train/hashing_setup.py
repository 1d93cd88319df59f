"""The hashing net and its optimiser groups, built the same way by stage 2 and the deep
baselines so their budgets compare."""

from __future__ import annotations

import torch

from dshgan.config import HashingConfig
from dshgan.nets.hashing_net import HashingNet


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


def net_optimiser(net: HashingNet, cfg: HashingConfig, total_steps: int
                  ) -> tuple[list, torch.optim.AdamW, torch.optim.lr_scheduler.OneCycleLR]:
    """(trainable parameters, AdamW over ``optimiser_groups``, its one-cycle schedule)."""
    groups, peak_lrs = optimiser_groups(net, cfg)
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=peak_lrs, total_steps=total_steps, pct_start=0.15)
    return [p for g in groups for p in g["params"]], opt, schedule
