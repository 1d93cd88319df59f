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
from pathlib import Path
from typing import Protocol

import numpy as np

from dshgan.collection.code_store import ranked
from dshgan.collection.fingerprint import check_same_model, model_fingerprint
from dshgan.collection.image_index import ImageIndex, SearchResult
from dshgan.serve.settings import ServeSettings

BACKENDS = ("index", "milvus")


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

    def item(self, id: int) -> dict:
        """{"id", "path" (stored), "labels", "digest" (sha1 bytes), "code" ({0,1} (bits,))};
        KeyError for an unknown id."""

    def full_path(self, stored: str) -> str:
        """The image file a stored path names (for thumbnails)."""


class IndexSource:
    """An index file loaded in this process (exact; the default)."""

    backend = "index"

    def __init__(self, index: ImageIndex):
        self.index = index
        self.name = f"index {index.file}" if index.file else "the index"
        self.bits = index.bits
        self.fingerprint = index.fingerprint
        self.run_dir = index.run_dir
        self.has_labels = bool(index.info()["labels"])
        # the index's search kernels (numba) are not safe to enter from several threads at once
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    def search(self, code: np.ndarray, k: int, radius: int | None,
               digest: bytes | None) -> list[SearchResult]:
        with self._lock:
            return self.index.search_codes(code[None], k=k, radius=radius, digests=[digest])[0]

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
