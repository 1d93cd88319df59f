"""Cut a collection's file list into shards, encode one shard, and put the shards back together.

Why shards are whole chunks: a chunk's images go through the net in the same batches whichever
process encodes it, so N processes (``torchrun``) or N machines (``--shard R/N``) give exactly
the codes one process gives, and concatenating the shards in rank order gives the one-process
index: same ids, paths and codes. Each shard keeps its own resumable chunks
(``<out>.rank-R-of-N.partial``), so a rerun with the same N resumes every shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import torch.distributed as dist

from dshgan.collection.chunks import ChunkStore, Encoded, encode_files
from dshgan.collection.encoder import Encoder
from dshgan.distributed import World


def shard_range(n: int, chunk: int, rank: int, size: int) -> tuple[int, int]:
    """Files [lo, hi) of shard ``rank`` of ``size``: a contiguous run of whole chunks, the
    chunks shared out as evenly as they go (a shard may be empty when chunks are few)."""
    if not 0 <= rank < size:
        raise ValueError(f"shard {rank} of {size}: the shard must be in [0, {size - 1}]")
    chunks = -(-n // chunk)
    first, last = chunks * rank // size, chunks * (rank + 1) // size
    return min(n, first * chunk), min(n, last * chunk)


def parse_shard(text: str) -> tuple[int, int]:
    """``"R/N"`` (shard R of N, counting from 0) -> (R, N)."""
    try:
        rank, size = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes R/N (shard R of N, from 0), got {text!r}") from None
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"--shard {text}: R must be in [0, N - 1] and N >= 1")
    return rank, size


def shard_folder(out: str, rank: int, size: int) -> str:
    return f"{out}.rank-{rank}-of-{size}.partial"


def encode_shard(encoder: Encoder, files: Sequence[str], names: Sequence[str], out: str,
                 chunk: int, rank: int, size: int, manifest: dict,
                 **encode_options) -> tuple[Encoded, ChunkStore]:
    """Encode shard ``rank`` of ``size`` of ``files`` with its own chunk store; positions in
    the result index the whole list. ``manifest``: the one-process manifest (its "files" list
    is cut to the shard)."""
    lo, hi = shard_range(len(files), chunk, rank, size)
    store = ChunkStore(shard_folder(out, rank, size), {
        **manifest, "files": list(manifest["files"][lo:hi]), "shard": [rank, size], "offset": lo})
    done = encode_files(encoder, files[lo:hi], store, chunk, names=names[lo:hi],
                        **encode_options)
    done.positions = done.positions + lo
    done.failures = [(p + lo, message) for p, message in done.failures]
    return done, store


def concatenate(parts: Sequence[Encoded], bits: int) -> Encoded:
    """Shards in order -> one ``Encoded``, as if one process had encoded them all."""
    return Encoded(
        positions=np.concatenate([p.positions for p in parts]),
        codes=np.concatenate([p.codes for p in parts]).reshape(-1, bits),
        digests=np.concatenate([p.digests for p in parts]),
        failures=[f for p in parts for f in p.failures],
        chunks=sum(p.chunks for p in parts), resumed_chunks=sum(p.resumed_chunks for p in parts))


def gather_on_main(part: Encoded, world: World, bits: int) -> Encoded | None:
    """Every rank's shard to rank 0 (codes travel packed); rank 0 gets the whole, others None."""
    packed = Encoded(part.positions, np.packbits(part.codes, axis=1), part.digests,
                     part.failures, part.chunks, part.resumed_chunks)
    parts = [None] * world.size if world.is_main else None
    dist.gather_object(packed, parts, dst=0)
    if not world.is_main:
        return None
    for p in parts:
        p.codes = np.unpackbits(p.codes, axis=1, count=bits)
    return concatenate(parts, bits)


def check_same_listing(files: Sequence[str], world: World) -> None:
    """Every rank must cut the same list: refuse if a rank sees other files (another mount,
    files added while starting)."""
    digest = hashlib.sha256("\0".join(files).encode("utf-8")).hexdigest()
    seen = [None] * world.size
    dist.all_gather_object(seen, (digest, len(files)))
    if len(set(seen)) > 1:
        counts = ", ".join(f"rank {r}: {n} files" for r, (_, n) in enumerate(seen))
        raise RuntimeError(f"the ranks list different images ({counts}): every rank must see "
                           "the same folder at the same path")
