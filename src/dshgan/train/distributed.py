"""Training on several processes (``torchrun``): the process group, who we are, and the few
collective steps training needs: averaged gradients, averaged batch-norm statistics, random
streams per rank, a share of every batch, and results that rank 0 alone computes.

The global batch is the config's batch size, split across the ranks (``batch_share``). Why:
a config then means the same training whatever the number of processes (its learning rates,
schedule and steps per epoch were tuned on one process and stay right), and N processes cut the
time of a step instead of changing what a step is. Two ranks with batch 2B compute what one
process computes with batch 2B, up to float rounding and two things that are per rank as in
any data-parallel run: batch-norm statistics of a forward pass, and the random numbers drawn.

Why an explicit all-reduce and not ``DistributedDataParallel``: stage 2 takes two sets of
gradients from one forward pass with ``torch.autograd.grad`` (the net's loss and the
generator's, which differ in the adversarial term; train/hashing_step.py). DDP reduces in hooks
that fire when ``.backward()`` accumulates into ``.grad``, once per forward pass; autograd.grad
never fires them, and two objectives on one forward pass are outside what DDP supports. So every
update computes its gradients as one process does and ``average_gradients`` all-reduces them in
one flat buffer, weighted by each rank's share (a rank whose anchors had no triplet adds
weight 0, so the mean is the global batch's mean). Stage 1 and the deep baselines call the same
function after ``.backward()``: one mechanism, one test. The price: DDP overlaps the all-reduce
with the backward pass and this does not.

A plain process (no RANK/WORLD_SIZE, no group) is a world of one: every function here returns
its input or does nothing, so a one-process run draws and computes exactly what it did before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from dshgan.distributed import process_group, torchrun_world

T = TypeVar("T")


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if world_size() > 1 else 0


def is_main() -> bool:
    """Rank 0: the one that writes checkpoints, logs, reports and evaluates."""
    return rank() == 0


@contextmanager
def training_group(device: str = "auto") -> Iterator[None]:
    """The process group torchrun's variables describe (nccl when training on GPUs, else gloo),
    for the block; a group the caller set up is used as it is, and a plain process gets none."""
    world = torchrun_world()
    if world is None:
        yield
        return
    cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(world.local_rank % torch.cuda.device_count())
    with process_group(world, "nccl" if cuda else "gloo"):
        yield


def rank_device(device: torch.device) -> torch.device:
    """This rank's own GPU (``cuda:LOCAL_RANK``) when several ranks train on ``cuda``."""
    if world_size() > 1 and device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def _derived_seed(seed: int, *key: int) -> int:
    words = np.random.SeedSequence([int(seed) % 2**63, *key]).generate_state(2, np.uint32)
    return int(words[0]) << 30 | int(words[1]) >> 2  # < 2**62: seed + k stays a valid seed


def rank_seed(seed: int, of_rank: int | None = None) -> int:
    """The seed of this rank's (or rank ``of_rank``'s) random streams: ``seed`` itself on rank 0
    (so a plain process is unchanged), an independent one derived from (seed, rank) on others."""
    r = rank() if of_rank is None else of_rank
    return seed if r == 0 else _derived_seed(seed, 1, r)


def epoch_order(n: int, generator: torch.Generator, seed: int, epoch: int) -> torch.Tensor:
    """The order of the training set in one epoch, the same on every rank (each then takes its
    share of every batch): from ``generator`` in a plain process, as before; with several ranks
    from a stream of (seed, epoch), so a resumed run needs no state for it."""
    if world_size() == 1:
        return torch.randperm(n, generator=generator)
    shared = torch.Generator().manual_seed(_derived_seed(seed, 2, epoch))
    return torch.randperm(n, generator=shared)


def batch_share(total: int) -> slice:
    """This rank's rows of a global batch of ``total``: contiguous, sizes differing by at most
    one, rank 0 first."""
    size, r = world_size(), rank()
    if total < size:
        raise ValueError(f"a batch of {total} cannot be shared by {size} processes: every "
                         "process needs at least one image (raise the batch size)")
    return slice(total * r // size, total * (r + 1) // size)


def share_size(total: int) -> int:
    s = batch_share(total)
    return s.stop - s.start


def _all_reduce_sum(buffer: torch.Tensor) -> torch.Tensor:
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
    return buffer


def average_gradients(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor | None],
                      weight: float) -> tuple[list[torch.Tensor | None], float]:
    """The mean of every rank's ``grads`` weighted by its ``weight`` (its number of anchors),
    and the total weight. A gradient missing (None) on every rank stays None; missing on some,
    it counts as zero there. In a plain process: ``grads`` and ``weight`` unchanged."""
    if world_size() == 1:
        return list(grads), weight
    device = params[0].device if len(params) else torch.device("cpu")
    flat = [(g.detach().reshape(-1) * weight if g is not None
             else torch.zeros(p.numel(), device=device, dtype=p.dtype))
            for p, g in zip(params, grads)]
    present = torch.tensor([float(g is not None) for g in grads] + [float(weight)],
                           device=device)
    buffer = _all_reduce_sum(torch.cat([*[f.float() for f in flat], present]))
    total = float(buffer[-1])
    if total == 0:
        return [None] * len(grads), 0.0
    out, start = [], 0
    for p, used in zip(params, buffer[-len(grads) - 1:-1].tolist()):
        part = buffer[start:start + p.numel()]
        start += p.numel()
        out.append((part / total).reshape(p.shape).to(p.dtype) if used else None)
    return out, total


def average_param_grads(params: Iterable[nn.Parameter], weight: float) -> float:
    """``average_gradients`` on the ``.grad`` of ``params`` in place (after ``.backward()``)."""
    params = [p for p in params if p.requires_grad]
    grads, total = average_gradients(params, [p.grad for p in params], weight)
    if world_size() > 1:
        for p, g in zip(params, grads):
            p.grad = g
    return total


def mean_over_ranks(values: Sequence[float], weight: float) -> list[float]:
    """Logged numbers (losses of a step) as the global batch's: weighted by each rank's share."""
    if world_size() == 1:
        return list(values)
    buffer = _all_reduce_sum(torch.tensor([v * weight for v in values] + [weight],
                                          dtype=torch.float64, device=_collective_device()))
    total = float(buffer[-1])
    return [float(v) / total if total else 0.0 for v in buffer[:-1].tolist()]


def _collective_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _float_buffers(modules: Sequence[nn.Module | None]) -> list[torch.Tensor]:
    return [b for m in modules if m is not None for b in m.buffers() if b.is_floating_point()]


@torch.no_grad()
def average_buffers(*modules: nn.Module | None) -> None:
    """Batch-norm running statistics averaged over ranks (each rank's forward passes update its
    own). Averaged at each checkpoint and validation rather than every step: a running
    statistic is a moving average, linear in the batches' statistics, so the mean of the ranks'
    moving averages is the moving average of their means. Computed as rank 0's value plus the
    mean of the ranks' differences from it, so a buffer all ranks hold alike stays bit for bit."""
    buffers = _float_buffers(modules)
    if world_size() == 1 or not buffers:
        return
    flat = torch.cat([b.reshape(-1).double() for b in buffers])
    reference = flat.clone()
    dist.broadcast(reference, src=0)
    delta = _all_reduce_sum(flat - reference) / world_size()
    start = 0
    for b in buffers:
        part = (reference + delta)[start:start + b.numel()]
        start += b.numel()
        b.copy_(part.reshape(b.shape).to(b.dtype))


@torch.no_grad()
def broadcast_modules(*modules: nn.Module | None) -> None:
    """Rank 0's parameters and buffers on every rank (initial weights are drawn per rank)."""
    if world_size() == 1:
        return
    for m in modules:
        if m is not None:
            for t in [*m.parameters(), *m.buffers()]:
                dist.broadcast(t.data, src=0)


def from_main(compute: Callable[[], T]) -> T:
    """``compute()`` run on rank 0 alone, its result handed to every rank (validation scores,
    a run's metrics); the other ranks wait for it."""
    if world_size() == 1:
        return compute()
    box = [compute() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def checkpoint_rng(state: dict) -> dict:
    """The checkpoint's random-state fields: ``rng`` (rank 0's, as a plain process writes it)
    and, with several ranks, ``rng_ranks`` (every rank's, gathered on all of them)."""
    if world_size() == 1:
        return {"rng": state}
    states: list = [None] * world_size()
    dist.all_gather_object(states, state)
    return {"rng": states[0], "rng_ranks": states}


def own_rng(checkpoint: dict, path) -> dict:
    """This rank's random states from a checkpoint written by the same number of ranks."""
    saved = checkpoint.get("rng_ranks") or [checkpoint["rng"]]
    if len(saved) != world_size():
        raise ValueError(
            f"{path} was written by {len(saved)} process(es) and this run has {world_size()}: "
            f"resume it with the same number (torchrun --nproc-per-node / --nnodes), or start "
            "a new run folder")
    return saved[rank()]
