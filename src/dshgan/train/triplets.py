"""Choosing the other half of each triplet: label vectors (or real images) that share a label
with the anchor (positives) or share none (negatives). Works for single- and multi-label data.
"""

from __future__ import annotations

import torch


def sample_matching(
    anchor_labels: torch.Tensor,
    pool_labels: torch.Tensor,
    share: bool,
    generator: torch.Generator,
    exclude: torch.Tensor | None = None,
    allow_missing: bool = False,
) -> torch.Tensor:
    """For each anchor row, the index of a uniformly drawn pool row that shares at least one
    label (``share=True``) or none (``share=False``); ``exclude`` (n,) bars one pool index per
    anchor (the anchor itself). An anchor with no candidate at all raises, or gets -1 when
    ``allow_missing``.
    """
    overlap = (anchor_labels.float() @ pool_labels.float().T) > 0
    allowed = overlap if share else ~overlap
    if exclude is not None:
        allowed[torch.arange(len(anchor_labels)), exclude] = False
    empty = ~allowed.any(dim=1)
    if empty.any() and not allow_missing:
        row = int(empty.nonzero()[0])
        kind = "shares a label with" if share else "shares no label with"
        raise ValueError(f"no item in the pool {kind} anchor {row} (labels "
                         f"{anchor_labels[row].nonzero().flatten().tolist()})")
    scores = torch.rand(allowed.shape, generator=generator).to(allowed.device)
    picks = torch.where(allowed, scores, torch.full_like(scores, -1.0)).argmax(dim=1)
    return torch.where(empty, torch.full_like(picks, -1), picks)


def sample_disjoint_labels(
    anchor_labels: torch.Tensor, pool_labels: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """A label vector sharing no label with each anchor, to condition the generator's x-.

    Drawn from the label vectors that occur (``pool_labels``), so multi-label data gets realistic
    combinations; an anchor that overlaps every occurring vector (dense multi-label data) gets a
    single concept it lacks instead. An anchor holding every concept has no negative: error.
    """
    rows = sample_matching(anchor_labels, pool_labels, False, generator, allow_missing=True)
    out = pool_labels[rows.clamp(min=0)].clone()
    missing = (rows < 0).nonzero().flatten()
    for i in missing.tolist():
        absent = (anchor_labels[i] == 0).nonzero().flatten()
        if len(absent) == 0:
            raise ValueError(f"anchor {i} holds every label: no label vector can be disjoint")
        pick = absent[torch.randint(len(absent), (1,), generator=generator)]
        out[i] = 0
        out[i, pick] = 1
    return out
