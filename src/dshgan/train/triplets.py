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
) -> torch.Tensor:
    """For each anchor row, the index of a uniformly drawn pool row that shares at least one
    label (``share=True``) or none (``share=False``); ``exclude`` (n,) bars one pool index per
    anchor (the anchor itself). Raises when some anchor has no candidate at all.
    """
    overlap = (anchor_labels.float() @ pool_labels.float().T) > 0
    allowed = overlap if share else ~overlap
    if exclude is not None:
        allowed[torch.arange(len(anchor_labels)), exclude] = False
    empty = ~allowed.any(dim=1)
    if empty.any():
        row = int(empty.nonzero()[0])
        kind = "shares a label with" if share else "shares no label with"
        raise ValueError(f"no item in the pool {kind} anchor {row} (labels "
                         f"{anchor_labels[row].nonzero().flatten().tolist()})")
    scores = torch.rand(allowed.shape, generator=generator).to(allowed.device)
    return torch.where(allowed, scores, torch.full_like(scores, -1.0)).argmax(dim=1)
