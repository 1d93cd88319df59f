import sys

import numpy as np
import pytest

from dshgan.data.heap import return_freed_memory, tune_allocator


def resident_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_freed_heap_pages_go_back_to_the_system():
    # 2,000 blocks of 64 kB come from the heap (below glibc's mmap threshold); keeping the last
    # one pins the heap's top, so glibc cannot shrink it by itself when the others are freed.
    blocks = [np.ones(64 * 1024, np.uint8) for _ in range(2000)]
    last = blocks.pop()
    before = resident_kb()
    del blocks
    held = resident_kb()
    assert return_freed_memory()
    after = resident_kb()
    assert before - held < 20_000  # freeing alone returned little of the ~128 MB
    assert held - after > 80_000  # the trim returned most of it
    del last


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_after_tuning_a_freed_buffer_is_reused_without_faulting_its_pages_in_again():
    import resource

    assert tune_allocator()
    first = np.ones(8 * 2**20, np.uint8)  # 2,048 pages, under the 32 MB mmap threshold
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    again = np.ones(8 * 2**20, np.uint8)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 200, faults  # with glibc's defaults, ~500 in a fresh process
    del again
