"""Where a server's codes live: an index file (``IndexSource``) or a Milvus collection
(``MilvusSource``), behind the few calls the engine makes.

Why a layer of its own: the routes need more than ``collection.code_store.CodeStore`` gives (a
search with a radius and the query file's sha1, one item's stored code for "more like this", the
image root for thumbnails, whether any item has a label), and each back end answers them its own
way. The engine and the routes are written once, against ``CodeSource``.

Milvus differs from the index file in two ways (docs/serve.md, "Serving from Milvus"): among
items tied at the k-th distance it may return other ones than the index file (which takes the
smallest ids), and a radius filters the k nearest it returned (there is no range search on
BIN_FLAT), so the answer is, as with the index file, at most k results within the radius.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numba
import numpy as np
import torch

from dshgan.collection.code_store import ranked
from dshgan.collection.fingerprint import check_same_model, model_fingerprint
from dshgan.collection.image_index import ImageIndex, SearchResult
from dshgan.serve.same_file import SameFileLookup
from dshgan.serve.settings import ServeSettings

BACKENDS = ("index", "milvus")
# numba threads of a server's search: a micro-batch's scan of a million codes takes about a
# millisecond on one, and numba's OpenMP threads spin after each parallel region, burning the
# core that decodes uploads and answers HTTP (measured: 0.25 ms against 0.9 ms of CPU per query
# for 16 queries over 1M codes, docs/serve.md "Throughput")
SEARCH_THREADS = 1


class CodeSource(Protocol):
    backend: str  # "index" or "milvus", as /api/stats names it
    name: str  # for messages: "index /x.index", "Milvus collection 'photos' at ..."
    bits: int
    fingerprint: dict  # the model that made the codes
    run_dir: str | None  # the run folder recorded with the codes
    has_labels: bool  # whether any item has a label (the page shows precision then)

    def __len__(self) -> int: ...

    def search(self, code: np.ndarray, k: int, radius: int | None,
               digest: bytes | None) -> list[SearchResult]:
        """The k nearest of one {0,1} code (bits,), those within ``radius`` if given; equal
        distances put items whose sha1 is ``digest`` first, then smaller ids."""

    def search_many(self, codes: np.ndarray, k: int, radius: int | None,
                    digests: Sequence[bytes | None]) -> list[list[SearchResult]]:
        """``search`` for each of the codes (n, bits) with its digest: the answers of a
        micro-batch, in one call."""

    def item(self, id: int) -> dict:
        """{"id", "path" (stored), "labels", "digest" (sha1 bytes), "code" ({0,1} (bits,))};
        KeyError for an unknown id."""

    def full_path(self, stored: str) -> str:
        """The image file a stored path names (for thumbnails)."""


class IndexSource:
    """An index file loaded in this process (exact; the default).

    Searches go through ``ImageIndex.search_codes`` without digests (one scan for a whole
    batch), and the query file's copies are found with a sorted sha1 lookup and put in by the
    index's own tie rule, which gives ``search_codes``' answers with digests (tests/serve
    compare them) without its scan of the sha1 column per query."""

    backend = "index"

    def __init__(self, index: ImageIndex):
        self.index = index
        self.name = f"index {index.file}" if index.file else "the index"
        self.bits = index.bits
        self.fingerprint = index.fingerprint
        self.run_dir = index.run_dir
        self.has_labels = bool(index.info()["labels"])
        self.same_file = SameFileLookup(index)
        # the index's search kernels (numba) are not safe to enter from several threads at once
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    def search(self, code: np.ndarray, k: int, radius: int | None,
               digest: bytes | None) -> list[SearchResult]:
        return self.search_many(code[None], k, radius, [digest])[0]

    def search_many(self, codes: np.ndarray, k: int, radius: int | None,
                    digests: Sequence[bytes | None]) -> list[list[SearchResult]]:
        with self._lock:
            # numba's OpenMP layer shares torch's OpenMP runtime: starting numba's threads or
            # setting their number sets torch's in this thread too (the batcher's net ran on
            # every core after its first search), so torch's count is read first and put back
            torch_threads = torch.get_num_threads()
            before = numba.get_num_threads()  # per calling thread
            numba.set_num_threads(min(before, SEARCH_THREADS))
            try:
                found = self.index.search_codes(codes, k=k, radius=radius)
            finally:
                numba.set_num_threads(before)
                torch.set_num_threads(torch_threads)
        return [self._with_same_file(code, results, digest, k, radius)
                for code, results, digest in zip(codes, found, digests)]

    def _with_same_file(self, code: np.ndarray, results: list[SearchResult],
                        digest: bytes | None, k: int, radius: int | None
                        ) -> list[SearchResult]:
        """The k nearest by (distance, id) with the items whose sha1 is ``digest`` added (within
        the radius) and sorted by the tie rule: distance, the query's own file first, then id.
        An item cut off from the k nearest stays cut off: each one kept sorts before it."""
        same = self.same_file.ids_of(digest) if digest is not None else []
        if not same:
            return results
        rows = [replace(r, same_file=r.id in same) for r in results]
        listed = {r.id for r in results}
        for id in same:
            if id in listed:
                continue
            item = self.index.item(id)
            distance = int(np.count_nonzero(item["code"] != code))
            if radius is None or distance <= radius:
                rows.append(SearchResult(rank=0, id=id, path=item["path"], distance=distance,
                                         labels=item["labels"], same_file=True))
        rows.sort(key=lambda r: (r.distance, not r.same_file, r.id))
        return [replace(r, rank=rank) for rank, r in enumerate(rows[:k], 1)]

    def item(self, id: int) -> dict:
        return self.index.item(id)

    def full_path(self, stored: str) -> str:
        return self.index.full_path(stored)


class MilvusSource:
    """A Milvus collection written by ``dshgan index build|merge --backend milvus``.

    Never closed: pymilvus shares one connection among every client of a URI in a process
    (``MilvusClient.close`` would cut off the others); it ends with the process."""

    backend = "milvus"

    def __init__(self, store, uri: str):
        self.store = store  # a collection.milvus_store.MilvusStore
        self.name = f"Milvus collection {store.collection!r} at {uri}"
        self.bits = store.bits
        self.fingerprint = store.fingerprint
        self.run_dir = store.run_dir
        self.root = store.root
        rows = store.client.query(store.collection, filter='labels != "[]"', limit=1,
                                  output_fields=["id"])
        self.has_labels = len(rows) > 0

    def __len__(self) -> int:
        return len(self.store)

    def search(self, code: np.ndarray, k: int, radius: int | None,
               digest: bytes | None) -> list[SearchResult]:
        """The tie rule of ``code_store.search_results`` over what Milvus returned, with the
        items whose sha1 is ``digest`` added when the k returned may have left them out (as the
        index file adds them: a copy of the query's own file is never cut off by a tie)."""
        ids, distances = self.store.search_codes(code[None], k)
        ids, distances = ids[0][ids[0] >= 0], distances[0][ids[0] >= 0]
        if digest is not None and len(ids) == k:
            ids, distances = self._with_same_file(code, ids, distances, digest)
        rows = self.store.metadata(ids.tolist()) if len(ids) else []
        results = ranked(ids, distances, rows, digest)[:k]
        if radius is not None:  # nearest first: those within the radius are a prefix
            results = [r for r in results if r.distance <= radius]
        return results

    def search_many(self, codes: np.ndarray, k: int, radius: int | None,
                    digests: Sequence[bytes | None]) -> list[list[SearchResult]]:
        """One Milvus search per query (a batch gains little over gRPC)."""
        return [self.search(code, k, radius, digest) for code, digest in zip(codes, digests)]

    def _with_same_file(self, code: np.ndarray, ids: np.ndarray, distances: np.ndarray,
                        digest: bytes) -> tuple[np.ndarray, np.ndarray]:
        store = self.store
        found = store.client.query(store.collection, filter=f'sha1 == "{digest.hex()}"',
                                   output_fields=["id", "code"])
        extra = [row for row in found if int(row["id"]) not in set(ids.tolist())]
        if not extra:
            return ids, distances
        codes = np.stack([self._unpack(row["code"]) for row in extra])
        return (np.concatenate([ids, [int(row["id"]) for row in extra]]),
                np.concatenate([distances, (codes != code).sum(1).astype(distances.dtype)]))

    def item(self, id: int) -> dict:
        store = self.store
        rows = store.client.get(store.collection, ids=[int(id)],
                                output_fields=["code", "path", "labels", "sha1"])
        if not rows:
            raise KeyError(f"no item with id {id} in {self.name}")
        row = rows[0]
        return {"id": int(row["id"]), "path": row["path"], "labels": json.loads(row["labels"]),
                "digest": bytes.fromhex(row["sha1"]), "code": self._unpack(row["code"])}

    def _unpack(self, stored) -> np.ndarray:
        """A stored code (packed bytes; pymilvus gives a list holding one bytes object) ->
        {0,1} uint8 (bits,)."""
        packed = stored[0] if isinstance(stored, list) else stored
        return np.unpackbits(np.frombuffer(bytes(packed), np.uint8), count=self.bits)

    def full_path(self, stored: str) -> str:
        return stored if os.path.isabs(stored) else os.path.join(self.root, stored)


def open_source(settings: ServeSettings) -> tuple[CodeSource, str]:
    """The codes ``settings`` name and the run folder that made them, checked: a missing or
    foreign index file or collection, an unreachable Milvus, a missing run or a run whose
    model.pt is not the one that made the codes raise FileNotFoundError, ValueError or
    RuntimeError with a message naming it (no model is loaded)."""
    if settings.backend not in BACKENDS:
        raise ValueError(f"unknown back end {settings.backend!r}: one of {', '.join(BACKENDS)}")
    if settings.backend == "milvus":
        source = open_milvus(settings)
    else:
        source = IndexSource(ImageIndex.load(settings.index))
    run = settings.run or source.run_dir
    if run is None or not Path(run, "model.pt").is_file():
        where = f"the run folder {run}" if run else "no run folder"
        raise FileNotFoundError(f"{where} (model.pt) for {source.name}: give the run it was "
                                "built with (--run RUN)")
    got = model_fingerprint(run, source.bits, tuple(source.fingerprint["image_size"]))
    check_same_model(source.fingerprint, got, source.name)
    return source, str(run)


def open_milvus(settings: ServeSettings) -> MilvusSource:
    if not settings.uri or not settings.collection:
        raise ValueError("--backend milvus needs --uri and --collection")
    from dshgan.collection.milvus_store import MilvusStore, import_milvus

    try:
        import_milvus()
    except ImportError as exc:
        raise RuntimeError(str(exc)) from exc
    store = MilvusStore.open(settings.uri, settings.collection, settings.token)
    return MilvusSource(store, settings.uri)
