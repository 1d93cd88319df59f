"""The server's search of a micro-batch (one scan for all its codes, the query file's copies
found by a sorted sha1 lookup) gives exactly the answers of ``ImageIndex.search_codes`` with
digests, one query at a time: ties, radii, several copies of one file, copies beyond the k
nearest or outside the radius, digests sharing a prefix, unknown digests."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from dshgan.collection import ImageIndex
from dshgan.serve import ServeSettings
from dshgan.serve.engine import Engine, UploadSearch
from dshgan.serve.same_file import PREFIX_BYTES, SameFileLookup
from dshgan.serve.sources import IndexSource

BITS = 12  # short codes: many ties at every distance


def digest(i: int) -> bytes:
    return hashlib.sha1(str(i).encode()).digest()


@pytest.fixture(scope="module")
def index():
    rng = np.random.default_rng(0)
    n = 400
    index = ImageIndex({"bits": BITS, "run": "test"}, "/collection")
    digests = [digest(i % 300) for i in range(n)]  # items 300..399 copy the files of 0..99
    digests[7] = digests[5][:PREFIX_BYTES] + b"another tail".ljust(12, b"!")  # a shared prefix
    labels = [[["cat"], ["dog"], []][i % 3] for i in range(n)]
    index.add_codes(rng.integers(0, 2, (n, BITS), np.uint8), [f"x/{i:04d}.jpg" for i in range(n)],
                    digests, labels=labels)
    index.remove([f"x/{i:04d}.jpg" for i in range(40, 60)])  # ids with gaps, as after a removal
    return index


def test_same_file_lookup_finds_every_copy_and_nothing_else(index):
    lookup = SameFileLookup(index)
    digests = index.digests
    for q in [digest(i) for i in (0, 5, 7, 50, 99, 150, 299, 1000)] + [digests[7]]:
        want = sorted(int(i) for i, d in zip(index.ids, digests) if d == q.ljust(20, b"\0"))
        assert lookup.ids_of(q) == want
    assert lookup.ids_of(digest(5)) == [5, 305]  # not item 7, whose digest shares the prefix
    assert lookup.ids_of(digest(1000)) == []


@pytest.mark.parametrize("k", [1, 3, 10, 400])
@pytest.mark.parametrize("radius", [None, 0, 2, 5])
def test_batched_search_equals_the_index_one_query_at_a_time(index, k, radius):
    rng = np.random.default_rng(k * 10 + (radius or 0))
    source = IndexSource(index)
    nq = 24
    codes = rng.integers(0, 2, (nq, BITS), np.uint8)
    codes[:6] = [index.item(i)["code"] for i in (0, 5, 100, 305, 7, 260)]  # indexed items
    digests = [digest(0), digest(5), digest(100), digest(5), index.digests[7], None,
               *[digest(int(i)) for i in rng.integers(0, 400, nq - 6)]]  # copies anywhere
    got = source.search_many(codes, k, radius, digests)
    want = [index.search_codes(code[None], k=k, radius=radius, digests=[d])[0]
            for code, d in zip(codes, digests)]
    assert got == want
    assert [source.search(code, k, radius, d) for code, d in zip(codes, digests)] == want
    assert any(r.same_file for rows in got for r in rows)


def test_the_engine_searches_a_batch_of_mixed_k_and_radius_as_single_queries(served):
    engine = Engine.load(ServeSettings(index=str(served), device="cpu"))
    try:
        index = engine.source.index
        codes = np.stack([index.item(int(i))["code"] for i in index.ids[:6]])
        digests = list(index.digests[:6])
        jobs = [UploadSearch(k, radius, d)
                for k, radius, d in zip([3, 3, 5, 24, 3, 1], [None, 0, None, 10, None, 0],
                                        digests)]
        before = engine.stats()["queries_served"]
        answers = engine.search_batch(codes, jobs)
        for (code, results, took), job, want_code in zip(answers, jobs, codes):
            assert np.array_equal(code, want_code) and took >= 0
            assert results == index.search_codes(want_code[None], k=job.k, radius=job.radius,
                                                 digests=[job.digest])[0]
        assert engine.stats()["queries_served"] == before + len(jobs)
    finally:
        engine.close()


def test_a_search_leaves_torch_threads_as_they_were(index):
    """numba's OpenMP layer shares torch's runtime: the search's numba threads must not change
    the torch threads of the thread that runs the net next (the batcher's)."""
    import threading

    import torch

    source = IndexSource(index)
    seen = []

    def batcher_thread():
        torch.set_num_threads(1)
        source.search_many(np.zeros((2, BITS), np.uint8), 3, None, [None, None])
        seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    thread = threading.Thread(target=batcher_thread)
    thread.start()
    thread.join()
    torch.set_num_threads(before)
    assert seen == [1]
