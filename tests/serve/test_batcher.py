"""Micro-batching: every caller gets its own image's code, batches never exceed the cap, a batch
waits only for announced images (a lone query not at all) and at most the wait, errors reach
every caller; the real net gives the same codes batched or alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from dshgan.serve.batcher import MicroBatcher, PerRequestEncoding


class Recorder:
    """A stand-in net: the 'code' of an image is its pixel sum; remembers batch sizes."""

    def __init__(self, delay: float = 0.0):
        self.sizes: list[int] = []
        self.delay = delay

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.sizes.append(len(batch))
        time.sleep(self.delay)
        return batch.reshape(len(batch), -1).sum(1, dtype=np.int64)[:, None]


def images(n: int) -> list[np.ndarray]:
    return [np.full((2, 2, 3), i, np.uint8) for i in range(n)]


def test_concurrent_callers_share_forward_passes_and_get_their_own_codes():
    net = Recorder(delay=0.01)
    batcher = MicroBatcher(net, max_batch=8, max_wait_s=0.05)

    def request(image):  # as a server request does: announce, decode, submit
        batcher.expect()
        time.sleep(0.001)
        return batcher.submit(image, expected=True)

    try:
        with ThreadPoolExecutor(20) as pool:
            futures = list(pool.map(request, images(40)))
            codes = [f.result(timeout=10) for f in futures]
    finally:
        batcher.close()
    assert [int(c[0]) for c in codes] == [12 * i for i in range(40)]
    assert sum(net.sizes) == 40 and max(net.sizes) <= 8
    assert len(net.sizes) < 40  # batched: fewer forward passes than images
    assert batcher.batches == len(net.sizes) and batcher.images == 40


def test_a_lone_query_does_not_wait():
    net = Recorder()
    batcher = MicroBatcher(net, max_batch=32, max_wait_s=5.0)
    try:
        started = time.perf_counter()
        assert int(batcher.submit(images(3)[2]).result(timeout=10)[0]) == 24
        assert time.perf_counter() - started < 1.0 and net.sizes == [1]
    finally:
        batcher.close()


def test_a_batch_waits_for_announced_images_and_no_longer():
    net = Recorder()
    batcher = MicroBatcher(net, max_batch=32, max_wait_s=5.0)
    try:
        started = time.perf_counter()
        for _ in range(3):
            batcher.expect()
        first = batcher.submit(images(1)[0], expected=True)
        time.sleep(0.1)  # the other two are still decoding: the batch waits for them
        rest = [batcher.submit(x, expected=True) for x in images(3)[1:]]
        assert [int(f.result(timeout=10)[0]) for f in [first, *rest]] == [0, 12, 24]
        assert net.sizes == [3] and time.perf_counter() - started < 2.0
        batcher.expect()  # one announced, then refused: the next batch does not wait for it
        batcher.expect()
        batcher.forget()
        started = time.perf_counter()
        assert int(batcher.submit(images(2)[1], expected=True).result(timeout=10)[0]) == 12
        assert time.perf_counter() - started < 1.0 and net.sizes == [3, 1]
    finally:
        batcher.close()


def test_an_announced_image_that_never_comes_costs_at_most_the_wait():
    net = Recorder()
    batcher = MicroBatcher(net, max_batch=32, max_wait_s=0.05)
    try:
        batcher.expect()
        batcher.expect()
        started = time.perf_counter()
        batcher.submit(images(1)[0], expected=True).result(timeout=10)
        assert 0.04 <= time.perf_counter() - started < 1.0 and net.sizes == [1]
    finally:
        batcher.close()


def test_a_full_batch_does_not_wait():
    net = Recorder()
    batcher = MicroBatcher(net, max_batch=4, max_wait_s=5.0)
    try:
        started = time.perf_counter()
        futures = [batcher.submit(x) for x in images(4)]
        [f.result(timeout=5) for f in futures]
        assert time.perf_counter() - started < 2.0
    finally:
        batcher.close()
    assert net.sizes == [4]


def test_an_error_reaches_every_caller_and_the_batcher_goes_on():
    calls = []

    def flaky(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return np.zeros((len(batch), 1))

    gate = threading.Event()
    batcher = MicroBatcher(lambda b: (gate.wait(5), flaky(b))[1], max_batch=3, max_wait_s=0.2)
    try:
        failing = [batcher.submit(x) for x in images(3)]
        gate.set()
        for f in failing:
            with pytest.raises(RuntimeError, match="out of memory"):
                f.result(timeout=5)
        assert batcher.submit(images(1)[0]).result(timeout=5).shape == (1,)
    finally:
        batcher.close()


def test_close_finishes_what_was_submitted():
    net = Recorder(delay=0.02)
    batcher = MicroBatcher(net, max_batch=2, max_wait_s=0.0)
    futures = [batcher.submit(x) for x in images(6)]
    batcher.close()
    assert [int(f.result(timeout=0)[0]) for f in futures] == [12 * i for i in range(6)]
    with pytest.raises(RuntimeError):
        batcher.submit(images(1)[0])


def test_per_request_encoding_is_the_same_answer_one_at_a_time():
    net = Recorder()
    plain = PerRequestEncoding(net)
    assert [int(plain.submit(x).result()[0]) for x in images(5)] == [0, 12, 24, 36, 48]
    assert net.sizes == [1] * 5 and plain.images == 5


def test_the_real_net_gives_the_same_codes_batched_or_alone(run_dir):
    from dshgan.collection import Encoder

    encoder = Encoder.from_run(run_dir, device="cpu")
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (24,) + encoder.image_size + (3,), np.uint8)
    alone = np.stack([encoder.encode(batch[i:i + 1])[0] for i in range(len(batch))])
    batcher = MicroBatcher(encoder.encode, max_batch=8, max_wait_s=0.05)
    try:
        with ThreadPoolExecutor(12) as pool:
            batched = np.stack([f.result(timeout=30) for f in pool.map(batcher.submit, batch)])
    finally:
        batcher.close()
    assert batched.dtype == np.uint8 and (batched == alone).all()
    assert batcher.batches < len(batch)


def test_busy_time_counts_the_forward_passes_and_then():
    net = Recorder(delay=0.02)
    batcher = MicroBatcher(net, max_batch=4, max_wait_s=0.0,
                           then=lambda codes, jobs: [(int(c[0]), job) for c, job in zip(codes, jobs)])
    try:
        assert batcher.submit(images(2)[1], job="a").result(timeout=10) == (12, "a")
        assert int(batcher.submit(images(2)[1]).result(timeout=10)[0]) == 12  # no job: the code
    finally:
        batcher.close()
    assert batcher.busy.wall_s >= 0.04 and 0 <= batcher.busy.cpu_s <= batcher.busy.wall_s
    plain = PerRequestEncoding(net, then=lambda codes, jobs: [len(codes)] * len(jobs))
    assert plain.submit(images(1)[0], job="b").result() == 1
    assert plain.busy.wall_s >= 0.02
