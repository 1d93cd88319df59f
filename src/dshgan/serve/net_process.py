"""The hashing net, and an index file's search of each batch, in a process of their own
(``dshgan serve --net-process``; opt-in).

Why: in the server's process the net's thread shares the GIL (and on a small machine a core)
with HTTP, decoding and the clients: on the quiet 2-core VM the net was busy 100% of a load but
its thread ran only 88-89% of that time, and 97% in a child process, which waits for nobody's
GIL (docs/serve.md, "The net in a process of its own"). Micro-batching stays in the server: each batch of decoded uint8 images
goes to the child as raw bytes over a pipe (a batch of 8 at 128 px is 400 KB: a fraction of a
millisecond against a forward pass of tens), and the answers (codes, search results, the
child's CPU seconds) come back pickled.

The child is started with ``spawn`` (torch's threads and fork do not mix), loads the model and
the index itself, runs one batch at a time, and ends when the server closes the pipe or exits
(its ``recv`` then fails), so it never outlives the server. An error in the child fails that
batch's requests with a 500 that names it; a dead child fails every later search and makes
``/readyz`` answer 503, and is logged.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection, wait

import numpy as np

from dshgan.serve.batcher import MicroBatcher, finish
from dshgan.serve.limits import Refused
from dshgan.serve.settings import ServeSettings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 300.0  # loading the model and 1M codes takes seconds; a stuck child, forever
STOP_TIMEOUT_S = 10.0


class NetProcess:
    """The child process and its pipe; ``answer(images, jobs)`` runs one batch there."""

    def __init__(self, settings: ServeSettings, run: str, bits: int,
                 start_timeout_s: float = START_TIMEOUT_S):
        context = multiprocessing.get_context("spawn")
        self._conn, child_end = context.Pipe()
        self.process = context.Process(target=serve_batches, args=(child_end, settings, run, bits),
                                       name="dshgan-net", daemon=True)
        self.process.start()
        child_end.close()  # the child's end lives in the child only: its death closes the pipe
        self._lock = threading.Lock()  # one batch on the pipe at a time
        self._closing = False
        try:
            if not self._conn.poll(start_timeout_s):
                raise RuntimeError(f"the hashing net's process did not start in "
                                   f"{start_timeout_s:g} s")
            status, detail = self._conn.recv()
            if status != "ready":
                raise RuntimeError(f"the hashing net's process failed to load: {detail}")
        except EOFError:
            self.close()
            raise RuntimeError("the hashing net's process stopped while loading (exit code "
                               f"{self.process.exitcode})") from None
        except BaseException:
            self.close()
            raise
        self.pid = self.process.pid
        threading.Thread(target=self._watch, name="dshgan-net-watch", daemon=True).start()

    def _watch(self) -> None:
        """Log the child's death as it happens (not at the next query)."""
        wait([self.process.sentinel])
        if not self._closing:  # (while closing, close() alone reaps it)
            log.error("dshgan serve: the hashing net's process (pid %s) stopped, exit code %s: "
                      "searches fail and /readyz answers 503 until the server is restarted",
                      self.pid, self.process.exitcode)

    def problem(self) -> str | None:
        """Why the child cannot answer (None while it can)."""
        if self.process.is_alive():
            return None
        return f"the hashing net's process stopped (exit code {self.process.exitcode})"

    def answer(self, images: np.ndarray, jobs: list) -> tuple[list, float]:
        """(``finish``'s answers for the batch, the child's CPU seconds on it); Refused(500)
        when the child failed on it or is gone."""
        images = np.ascontiguousarray(images, np.uint8)
        with self._lock:
            try:
                self._conn.send((images.shape, jobs))
                self._conn.send_bytes(memoryview(images).cast("B"))
                status, answers, cpu_s = self._conn.recv()
            except (EOFError, OSError):
                self.process.join(timeout=1)
                raise Refused(500, self.problem() or "the hashing net's process did not "
                              "answer") from None
        if status != "ok":
            raise Refused(500, f"the hashing net's process failed: {answers}")
        return answers, cpu_s

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Codes only (no search), e.g. for tests."""
        answers, _ = self.answer(images, [None] * len(images))
        return np.stack(answers) if answers else np.zeros((0, 0), np.uint8)

    def close(self) -> None:
        """Stop the child: ask, then terminate, then kill; never leaves it running."""
        self._closing = True
        with self._lock:
            try:
                self._conn.send(None)
            except OSError:
                pass
            self.process.join(STOP_TIMEOUT_S)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(STOP_TIMEOUT_S)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self._conn.close()


class NetProcessBatcher(MicroBatcher):
    """Micro-batching whose batches are answered by a ``NetProcess``. ``busy``: the batcher's
    wall time per batch (the pipe's round trip included) and the child's CPU time, so "its
    thread running" is the child's share of it."""

    def __init__(self, net: NetProcess, max_batch: int, max_wait_s: float):
        super().__init__(net.encode, max_batch, max_wait_s)
        self.net = net
        self.searched = 0  # queries whose search ran in the child

    def answer_batch(self, images: np.ndarray, jobs: list) -> list:
        started = time.perf_counter()
        answers, cpu_s = self.net.answer(images, jobs)
        self.busy.add(time.perf_counter() - started, cpu_s)
        self.searched += sum(job is not None for job in jobs)
        return answers

    def close(self) -> None:
        super().close()
        self.net.close()


def serve_batches(conn: Connection, settings: ServeSettings, run: str, bits: int) -> None:
    """The child: load the net (and an index file), warm up, then answer batches until the pipe
    says stop or closes."""
    try:
        answer_batch, max_shape = load_net(settings, run, bits)
        answer_batch(np.zeros(max_shape, np.uint8), [None] * max_shape[0])  # warm-up
    except Exception as exc:  # noqa: BLE001 (the server reports it and stops)
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            header = conn.recv()
            if header is None:
                return
            shape, jobs = header
            data = bytearray(conn.recv_bytes())  # writable: torch.from_numpy wants it
        except (EOFError, OSError):  # the server is gone
            return
        images = np.frombuffer(data, np.uint8).reshape(shape)
        cpu = time.thread_time()
        try:
            answers = answer_batch(images, jobs)
        except Exception as exc:  # noqa: BLE001 (each caller of the batch learns why)
            conn.send(("error", f"{type(exc).__name__}: {exc}", 0.0))
            continue
        conn.send(("ok", answers, time.thread_time() - cpu))


def load_net(settings: ServeSettings, run: str, bits: int):
    """(images, jobs -> answers, the shape of a full batch) as the server's own batcher would
    answer them: the net's codes, and an index file's search for the jobs."""
    import torch

    from dshgan.collection.encoder import Encoder
    from dshgan.collection.image_index import ImageIndex
    from dshgan.data.heap import tune_allocator
    from dshgan.serve.engine import search_jobs
    from dshgan.serve.sources import IndexSource

    tune_allocator()  # as `dshgan serve` sets it for its own process
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    source = IndexSource(ImageIndex.load(settings.index)) if settings.backend == "index" else None
    encoder = Encoder.from_run(run, bits=bits, device=settings.device)

    def answer_batch(images: np.ndarray, jobs: list) -> list:
        then = (lambda codes, asked: search_jobs(source, codes, asked)) if source else None
        return finish(encoder.encode(images), jobs, then)

    if source is not None:  # numba's search kernels compile on their first call
        source.search(np.zeros(source.bits, np.uint8), 1, 0, None)
    if settings.threads is not None:  # again: numba's OpenMP start may have changed them
        torch.set_num_threads(settings.threads)
    h, w = encoder.image_size
    return answer_batch, (settings.max_batch, h, w, 3)
