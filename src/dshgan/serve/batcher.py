"""Micro-batching: concurrent queries share one forward pass of the hashing net.

Why: the CNN is the cost of a query, and on a CPU a forward pass of one image costs nearly as
much as one of sixteen (measured: benchmarks/bench_serve.py, docs/serve.md). A worker thread
takes the first waiting image, waits at most ``max_wait_s`` for more (up to ``max_batch``),
encodes them together and hands each caller its own code. It waits only for images known to be
on the way: a request announces itself (``expect``) before it decodes its upload, and a batch
goes as soon as no announced image is missing, so a lone client never waits.
``PerRequestEncoding`` is the plain alternative (each request encodes its own image, in its own
thread), kept for the comparison.

``then`` is work on the codes that is cheaper for a whole batch than query by query (the server
searches the index there: one scan for the batch); a caller that submits a ``job`` for it gets
``then``'s answer for that job instead of the bare code. It runs in the batcher's thread, right
after the forward pass: the index's search kernels hold the GIL, so on another thread they would
stall the net's thread just as long, and each hand-over between threads costs a wake-up.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import numpy as np

EncodeBatch = Callable[[np.ndarray], np.ndarray]  # uint8 (n, h, w, 3) -> {0,1} codes (n, bits)
# codes (n, bits) of the submitted jobs, the jobs -> one answer per job
Then = Callable[[np.ndarray, list], list]

DEFAULT_MAX_BATCH = 32
DEFAULT_MAX_WAIT_S = 0.002


class MicroBatcher:
    """``submit(image)`` -> a Future of its code; one thread runs ``encode_batch`` on batches."""

    def __init__(self, encode_batch: EncodeBatch, max_batch: int = DEFAULT_MAX_BATCH,
                 max_wait_s: float = DEFAULT_MAX_WAIT_S, then: Then | None = None):
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError(f"max_batch must be >= 1 and max_wait_s >= 0, got {max_batch}, "
                             f"{max_wait_s}")
        self.encode_batch = encode_batch
        self.then = then
        self.max_batch = int(max_batch)
        self.max_wait_s = float(max_wait_s)
        self.batches = 0  # forward passes run, and images encoded: their ratio is the mean batch
        self.images = 0
        self.busy = BusyTime()
        self._coming = 0  # announced images not submitted yet
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="dshgan-batcher", daemon=True)
        self._thread.start()

    def expect(self) -> None:
        """An image will be submitted soon (its upload is being decoded): a batch that starts
        meanwhile may wait for it."""
        with self._lock:
            self._coming += 1

    def forget(self) -> None:
        """The image announced by ``expect`` will not come (its upload was refused)."""
        with self._lock:
            self._coming -= 1

    def submit(self, image: np.ndarray, expected: bool = False, job=None) -> Future:
        """A Future of ``image``'s code (of ``then``'s answer for ``job`` when one is given);
        ``expected``: it was announced by ``expect``."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        future: Future = Future()
        if expected:
            with self._lock:
                self._coming -= 1
        self._queue.put((image, future, job))
        return future

    def close(self) -> None:
        """Finish the images already submitted, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.max_wait_s
            stop = False
            while len(batch) < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    if left > 0 and self._coming > 0:  # an announced image is on its way
                        item = self._queue.get(timeout=left)
                    else:
                        item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._encode(batch)
            if stop:
                return

    def _encode(self, batch: list) -> None:
        live = [item for item in batch if item[1].set_running_or_notify_cancel()]
        if not live:
            return
        try:
            answers = self.answer_batch(np.stack([image for image, _, _ in live]),
                                        [job for _, _, job in live])
        except Exception as exc:  # noqa: BLE001 (every caller of the batch learns why)
            for _, f, _ in live:
                f.set_exception(exc)
            return
        self.batches += 1
        self.images += len(live)
        for (_, f, _), answer in zip(live, answers):
            f.set_result(answer)

    def answer_batch(self, images: np.ndarray, jobs: list) -> list:
        """One batch's answers, in the batcher's thread, its time counted in ``busy`` (the net
        in a process of its own answers elsewhere: ``net_process.NetProcessBatcher``)."""
        with self.busy.measure():
            return finish(self.encode_batch(images), jobs, self.then)


class BusyTime:
    """Seconds spent encoding (and in ``then``), by the clock and by the thread's CPU clock: the
    first against a load's duration says how busy the net was kept, the second against the
    first how much of that time its thread ran (the rest it waited for a core or the GIL)."""

    def __init__(self):
        self.wall_s = 0.0
        self.cpu_s = 0.0
        self._lock = threading.Lock()

    def add(self, wall_s: float, cpu_s: float) -> None:
        with self._lock:
            self.wall_s += wall_s
            self.cpu_s += cpu_s

    @contextmanager
    def measure(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.add(time.perf_counter() - wall, time.thread_time() - cpu)


def finish(codes: np.ndarray, jobs: list, then: Then | None) -> list:
    """Per submitted image: ``then``'s answer for its job, or its code when it has none."""
    answers = list(codes)
    asked = [i for i, job in enumerate(jobs) if job is not None]
    if then is not None and asked:
        for i, answer in zip(asked, then(codes[asked], [jobs[i] for i in asked])):
            answers[i] = answer
    return answers


class PerRequestEncoding:
    """The plain way: each ``submit`` encodes its image at once, in the caller's thread."""

    max_batch = 1
    max_wait_s = 0.0

    def __init__(self, encode_batch: EncodeBatch, then: Then | None = None):
        self.encode_batch = encode_batch
        self.then = then
        self.batches = 0
        self.images = 0
        self.busy = BusyTime()  # summed over the requests' threads: may pass the clock's time

    def expect(self) -> None:
        pass

    def forget(self) -> None:
        pass

    def submit(self, image: np.ndarray, expected: bool = False, job=None) -> Future:
        future: Future = Future()
        try:
            with self.busy.measure():
                future.set_result(finish(self.encode_batch(image[None]), [job], self.then)[0])
        except Exception as exc:  # noqa: BLE001 (the caller learns why, as with batching)
            future.set_exception(exc)
        self.batches += 1
        self.images += 1
        return future

    def close(self) -> None:
        pass
