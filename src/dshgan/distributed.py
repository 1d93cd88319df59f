"""Several processes started by ``torchrun``: who we are (rank, world size) and one process group.

Why its own module: a command must behave the same in one plain process (no torchrun variables:
no process group, nothing to set up) and as one of N ranks, where every rank needs the same
answer to "how many are we, which one am I, which device is mine". torchrun exports RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; the group is initialised from them
(``env://``) with gloo, which runs on CPU (tensors on the GPU are not sent, only results).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

# A rank that finishes its share early waits for the slowest at the next collective call; an
# image collection can take hours, so the group waits that long (torchrun stops every rank at
# once when one of them fails, so a dead rank does not leave the others waiting).
WAIT = datetime.timedelta(days=2)


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: str) -> str:
        """``auto``/``cuda`` on a GPU machine: this rank's own GPU (``cuda:LOCAL_RANK``)."""
        if device in ("auto", "cuda") and torch.cuda.is_available():
            return f"cuda:{self.local_rank % torch.cuda.device_count()}"
        return device


def torchrun_world() -> World | None:
    """The world torchrun (or any launcher setting its variables) started us in, or None in a
    plain process (and for a world of one, which needs no group)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return None
    rank = int(os.environ["RANK"])
    if not 0 <= rank < size:
        raise RuntimeError(f"RANK={rank} is outside WORLD_SIZE={size}")
    return World(rank, size, int(os.environ.get("LOCAL_RANK", "0")))


@contextmanager
def process_group(world: World, backend: str = "gloo") -> Iterator[None]:
    """A ``backend`` group for ``world`` from the environment; left as it is if the caller made
    one."""
    if dist.is_initialized():
        if dist.get_world_size() != world.size or dist.get_rank() != world.rank:
            raise RuntimeError("the process group already set up does not match RANK/WORLD_SIZE")
        yield
        return
    dist.init_process_group(backend, init_method="env://", rank=world.rank,
                            world_size=world.size, timeout=WAIT)
    try:
        yield
        # Every rank has finished its collectives before any tears its connections down (only
        # on success: after an error the peers may never arrive, and torchrun stops them).
        dist.barrier()
    finally:
        dist.destroy_process_group()
