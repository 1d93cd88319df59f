"""Give the memory this process freed back to the operating system before forking workers.

Why: the decoding workers of ``data.loader`` are forked, and share every page of the parent at
that moment. glibc keeps freed memory (stage 2's activations, gigabytes at 128 px) in its heap;
when the parent reuses those pages while the workers live, each write copies the page, and the
old copy stays with the workers: a 4 GB process streaming its database grew ~2 GB of such copies
(docs/experiments/2026-12-01-own-images-memory.md). Pages returned to the system before the fork
are shared with nobody, so reusing them copies nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def return_freed_memory() -> bool:
    """Collect garbage, then ``malloc_trim(0)``; False where the C library has no such call."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
