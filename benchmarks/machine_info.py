"""What every benchmark prints about the machine its figures come from (the CPU model, cores,
memory), in one place."""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def machine_line() -> str:
    """``AMD EPYC ..., 2 cores, 24 GiB; Python 3.11.7``."""
    return (f"{cpu_model()}, {os.cpu_count()} cores, {memory_gib():.0f} GiB; "
            f"Python {platform.python_version()}")
