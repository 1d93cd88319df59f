"""How dshgan treats glibc's heap: settings for torch's large short-lived buffers, and freed
memory given back before decoding workers fork.

Why the settings (``tune_allocator``): inference and training allocate and free buffers of a few
to tens of MB per layer, per batch. With glibc's defaults, buffers above its mmap threshold are
fresh mappings every time and a freed heap top above 128 kB goes back to the system, so each
forward pass faults its memory in again: encoding at 128 px spent as much CPU in the kernel as in
torch. A fixed 32 MB mmap threshold (glibc's largest) with a 256 MB trim threshold keeps those
buffers in the heap, reused; with inference batches whose largest activation stays under 32 MB
(``train.encoding.PIXELS_PER_BATCH``) encoding ran at ~3x the default's speed in less memory
(docs/experiments/2026-12-01-own-images-memory.md).

Why the trim before a fork (``return_freed_memory``): the decoding workers of ``data.loader``
are forked and share every page of the parent at that moment. When the parent reuses freed
heap pages while the workers live, each write copies the page and the old copy stays with the
workers: a 4 GB process streaming its database grew ~2 GB of such copies. Pages returned to the
system before the fork are shared with nobody, so reusing them copies nothing.

Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
MMAP_THRESHOLD = 32 * 2**20  # glibc's maximum (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
TRIM_THRESHOLD = 256 * 2**20


@functools.lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is None or not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
            return None
    except OSError:  # not glibc (musl, macOS, Windows)
        return None
    libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return libc


def tune_allocator() -> bool:
    """Set the two thresholds above for this process (and the processes it forks); False where
    they cannot be set. The ``dshgan`` command calls it first thing."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def return_freed_memory() -> bool:
    """Collect garbage, then ``malloc_trim(0)``; False where the C library has no such call."""
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
