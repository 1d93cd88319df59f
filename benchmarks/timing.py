"""The timing rule the speed benchmarks share: the best of a few runs (the least disturbed by
other work on the machine)."""

from __future__ import annotations

import time


def best_time(fn, repeat: int) -> float:
    """Seconds of the fastest of ``repeat`` calls of ``fn()``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
