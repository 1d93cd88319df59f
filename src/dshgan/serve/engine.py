"""The loaded model and codes behind the HTTP routes, and the answers they give.

Why apart from the routes: the checks and answers (which run matches the codes, what a search
returns, the precision shown to the user) are plain Python that tests call without HTTP, and
``dshgan serve`` runs the same startup checks before it binds a port, so a wrong index, a wrong
Milvus collection or a wrong run fails with one clear line instead of a traceback in a worker.

The codes are an index file or a Milvus collection behind ``sources.CodeSource``. Threads: an
upload is decoded in a worker thread, then the hashing net and the search of its code run in
the batcher's thread (or the request's, without batching), the search once for the whole batch
(``search_batch``); searches of an index file take a lock (its numba kernels are not safe to
enter from several threads at once).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from dshgan.collection.encoder import Encoder
from dshgan.collection.fingerprint import check_same_model
from dshgan.collection.image_index import ImageIndex, SearchResult
from dshgan.serve.batcher import MicroBatcher, PerRequestEncoding
from dshgan.serve.limits import Refused, check_k, check_radius, open_image
from dshgan.serve.net_process import NetProcess, NetProcessBatcher
from dshgan.serve.settings import ServeSettings
from dshgan.serve.sources import CodeSource, IndexSource, open_source
from dshgan.serve.thumbnails import ThumbnailCache


@dataclass(frozen=True)
class UploadSearch:
    """What the search of an upload needs beside its code: the batcher's job for it."""

    k: int
    radius: int | None
    digest: bytes  # the upload's sha1: its indexed copies come first


class Engine:
    """Read-only codes (an index file or a Milvus collection) with their encoder: search by
    upload or by item, item lookup, thumbnails, counters."""

    def __init__(self, source: CodeSource | ImageIndex, encoder: Encoder,
                 settings: ServeSettings, net: NetProcess | None = None):
        """``net``: the hashing net's own process (``settings.net_process``), which then encodes
        each micro-batch and searches it; closed with the engine."""
        if isinstance(source, ImageIndex):
            source = IndexSource(source)
        # refuses an encoder of another model
        check_same_model(source.fingerprint, encoder.fingerprint, source.name)
        self.source = source
        self.encoder = encoder
        self.settings = settings
        # searched in the batcher's thread, once per batch: an index file (in-process, a
        # millisecond); Milvus answers each query over the network, in the request's thread
        self.search_with_batch = source.backend == "index"
        self.net = net
        if net is not None:
            if not settings.batching:
                net.close()
                raise ValueError("the net's own process needs micro-batching (a --batch above 1)")
            self.encoding = NetProcessBatcher(net, settings.max_batch, settings.max_wait_s)
        elif settings.batching:
            self.encoding = MicroBatcher(encoder.encode, settings.max_batch,
                                         settings.max_wait_s, then=self.search_batch)
        else:
            self.encoding = PerRequestEncoding(encoder.encode, then=self.search_batch)
        self.thumbnails = ThumbnailCache(max_pixels=settings.max_pixels)
        self.has_labels = source.has_labels
        self._count_lock = threading.Lock()
        self.queries = 0
        self._warm_up()

    def _warm_up(self) -> None:
        """A forward pass of a full batch and a search before answering /readyz: the first of
        each loads kernels (numba's compiled search, torch's) and would take a first query a
        quarter of a second, and the memory for a full batch is then taken before the first
        load, not during it (so a growth of memory under load means a leak)."""
        if self.net is not None:  # the child warmed its net and search up; "more like this"
            self.source.search(np.zeros(self.source.bits, np.uint8), 1, 0, None)  # runs here
            return
        h, w = self.encoder.image_size
        codes = self.encoder.encode(np.zeros((self.encoding.max_batch, h, w, 3), np.uint8))
        self.source.search_many(codes, 1, None, [None] * len(codes))
        self.source.search(codes[0], 1, 0, None)

    @classmethod
    def load(cls, settings: ServeSettings, source: CodeSource | None = None,
             run: str | None = None) -> Engine:
        """Check and load everything (``source`` and ``run``: already checked by
        open_source)."""
        if source is None:
            source, run = open_source(settings)
        if settings.threads is not None:  # process-wide: `dshgan serve` always sets it
            torch.set_num_threads(settings.threads)
        encoder = Encoder.from_run(run, bits=source.bits, device=settings.device)
        net = NetProcess(settings, run, source.bits) if settings.net_process else None
        try:
            return cls(source, encoder, settings, net)
        except BaseException:
            if net is not None:
                net.close()
            raise

    def close(self) -> None:
        self.encoding.close()  # and the net's process, if it has one

    def problem(self) -> str | None:
        """Why the engine cannot answer searches now (its net's process died), or None."""
        return self.net.problem() if self.net is not None else None

    # ------------------------------------------------------------------ queries
    def prepare_upload(self, data: bytes) -> np.ndarray:
        """Uploaded bytes -> uint8 (h, w, 3) at the run's image size, decoded as training did."""
        image = open_image(data, "the upload", self.settings.max_pixels)
        return self.encoder.prepare([image])[0]

    def read_upload(self, data: bytes) -> tuple[np.ndarray, bytes]:
        """Uploaded bytes -> (the image as ``prepare_upload`` gives it, the bytes' sha1)."""
        return self.prepare_upload(data), hashlib.sha1(data).digest()

    def submit(self, data: bytes):
        """Decode an upload and hand it to the encoder: a Future of its {0,1} code."""
        return self.encoding.submit(self.prepare_upload(data))

    def search_batch(self, codes: np.ndarray, jobs: list[UploadSearch]
                     ) -> list[tuple[np.ndarray, list[SearchResult], float]]:
        """(code, results, seconds the batch's search took) per job: one search per (k, radius)
        among the jobs, all their codes at once (the batcher's ``then``)."""
        answers = search_jobs(self.source, codes, jobs)
        self.count_queries(len(jobs))
        return answers

    def count_queries(self, n: int) -> None:
        with self._count_lock:
            self.queries += n

    def search_code(self, code: np.ndarray, k: int, radius: int | None,
                    digest: bytes | None) -> list[SearchResult]:
        k, radius = check_k(k), check_radius(radius, self.source.bits)
        results = self.source.search(code, k, radius, digest)
        self.count_queries(1)
        return results

    def search_upload_code(self, code: np.ndarray, data: bytes, k: int,
                           radius: int | None) -> tuple[list[SearchResult], dict]:
        """Results for an uploaded image's code; the query's description (its code, sha1, and
        the labels and id of an indexed file with the very same bytes, if any)."""
        digest = hashlib.sha1(data).digest()
        results = self.search_code(code, k, radius, digest)
        return results, self.describe_upload(code, digest, results)

    def describe_upload(self, code: np.ndarray, digest: bytes,
                        results: list[SearchResult]) -> dict:
        """An upload's query description: its code, sha1, and the labels and id of an indexed
        file with the very same bytes (the first such result), if any."""
        same = next((r for r in results if r.same_file), None)
        return {"code": code_hex(code), "bits": self.source.bits, "sha1": digest.hex(),
                "item": same.id if same else None, "labels": same.labels if same else None}

    def similar(self, id: int, k: int, radius: int | None) -> tuple[list[SearchResult], dict]:
        """Results for an indexed item, searched by its stored code (it comes first itself)."""
        item = self.item(id)
        results = self.search_code(item["code"], k, radius, item["digest"])
        query = {"code": code_hex(item["code"]), "bits": self.source.bits,
                 "sha1": item["digest"].hex(), "item": item["id"], "labels": item["labels"],
                 "path": item["path"]}
        return results, query

    def item(self, id: int) -> dict:
        try:
            return self.source.item(id)
        except KeyError as exc:
            raise Refused(404, f"no item with id {id} in this index") from exc

    def item_json(self, id: int, root_path: str = "") -> dict:
        item = self.item(id)
        return {"id": item["id"], "path": item["path"], "labels": item["labels"],
                "sha1": item["digest"].hex(), "code": code_hex(item["code"]),
                "bits": self.source.bits, "thumbnail": thumbnail_url(item["id"], root_path)}

    def thumbnail(self, id: int) -> bytes:
        item = self.item(id)
        return self.thumbnails.get(item["id"], self.source.full_path(item["path"]))

    def stats(self) -> dict:
        encoding = self.encoding
        return {"items": len(self.source), "bits": self.source.bits,
                "fingerprint": self.source.fingerprint, "labels": self.has_labels,
                "backend": self.source.backend,
                "queries_served": self.queries + getattr(encoding, "searched", 0),
                "net_process": self.net.pid if self.net is not None else None,
                "batching": {"enabled": isinstance(encoding, MicroBatcher),
                             "max_batch": encoding.max_batch,
                             "max_wait_ms": encoding.max_wait_s * 1000,
                             "forward_passes": encoding.batches,
                             "images_encoded": encoding.images,
                             "busy_s": round(encoding.busy.wall_s, 3),
                             "busy_cpu_s": round(encoding.busy.cpu_s, 3)}}


def search_jobs(source: CodeSource, codes: np.ndarray, jobs: list[UploadSearch]
                ) -> list[tuple[np.ndarray, list[SearchResult], float]]:
    """(code, results, seconds the batch's search took) per job: one search per (k, radius)
    among the jobs, all their codes at once (also what the net's own process runs)."""
    started = time.perf_counter()
    found: list = [None] * len(jobs)
    groups: dict[tuple, list[int]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault((check_k(job.k), check_radius(job.radius, source.bits)),
                          []).append(i)
    for (k, radius), rows in groups.items():
        answers = source.search_many(codes[rows], k, radius, [jobs[i].digest for i in rows])
        for i, results in zip(rows, answers):
            found[i] = results
    took = time.perf_counter() - started
    return [(code, results, took) for code, results in zip(codes, found)]


def code_hex(code: np.ndarray) -> str:
    """A {0,1} code as hex: bits packed most significant first, the last byte zero-padded."""
    return np.packbits(np.asarray(code, np.uint8)).tobytes().hex()


def thumbnail_url(id: int, root_path: str = "") -> str:
    return f"{root_path}/api/items/{id}/thumbnail"


def precision(results: list[SearchResult], query_labels: list[str] | None,
              query_item: int | None) -> float | None:
    """Share of the labelled results (the query's own item left out) sharing at least one label
    with the query: docs/design.md's relevance. An unlabelled result counts neither way (its
    relevance is unknown). None when the query's labels are unknown or no other result has a
    label."""
    if not query_labels:
        return None
    others = [r for r in results if r.id != query_item and r.labels]
    if not others:
        return None
    wanted = set(query_labels)
    return sum(bool(wanted.intersection(r.labels)) for r in others) / len(others)


def answer(results: list[SearchResult], query: dict, k: int, radius: int | None,
           started: float, root_path: str = "", **timings: float) -> dict:
    """The JSON of a search: the query, the time taken, the precision, the results."""
    return {
        "query": query, "k": k, "radius": radius,
        "precision": precision(results, query.get("labels"), query.get("item")),
        "took_ms": round((time.perf_counter() - started) * 1000, 3),
        "timings_ms": {name: round(t * 1000, 3) for name, t in timings.items()},
        "results": [dict(r.to_dict(), thumbnail=thumbnail_url(r.id, root_path))
                    for r in results],
    }
