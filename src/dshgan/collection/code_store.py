"""The small interface a search service needs from wherever the codes live.

Why: an index file (``ImageIndex``, exact, in this process) and a Milvus collection
(``milvus_store.MilvusStore``, another process or a cluster) answer the same two questions:
the k nearest ids of some codes with their Hamming distances, and what an id stands for. A
caller written against ``CodeStore`` (``dshgan search``, ``dshgan serve``) takes either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from dshgan.collection.image_index import ImageIndex, SearchResult


class CodeStore(Protocol):
    bits: int
    fingerprint: dict  # the model that made the codes (see ``fingerprint``)

    def __len__(self) -> int: ...

    def search_codes(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """{0,1} codes (nq, bits) -> (ids int64, distances int32), each (nq, k), nearest
        first; missing answers are id -1."""

    def metadata(self, ids: Sequence[int]) -> list[dict]:
        """{"id", "path", "labels", "sha1"} of each id, in the order given."""


class ExactStore:
    """``CodeStore`` over an ``ImageIndex`` (exact; ties by id)."""

    def __init__(self, index: ImageIndex):
        self.index = index
        self.bits = index.bits
        self.fingerprint = index.fingerprint

    def __len__(self) -> int:
        return len(self.index)

    def search_codes(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        distances, ids = self.index.codes_index.search(codes, k)
        return ids, distances

    def metadata(self, ids: Sequence[int]) -> list[dict]:
        rows = np.searchsorted(self.index.ids, np.asarray(ids, np.int64))
        paths, labels, digests = self.index.paths, self.index.labels, self.index.digests
        return [{"id": int(self.index.ids[r]), "path": paths[r], "labels": labels[r],
                 "sha1": digests[r].hex()} for r in rows]


def search_results(store: CodeStore, codes: np.ndarray, k: int,
                   digests: Sequence[bytes | None] | None = None) -> list[list[SearchResult]]:
    """The k nearest of each query as ``SearchResult`` rows. Among the k returned, equal
    distances put the query file's own bytes (same sha1) first, then smaller ids: the exact
    index's tie rule, applied to what the store returned (a store such as Milvus may return
    another subset of the items tied at the k-th distance)."""
    ids, distances = store.search_codes(codes, k)
    digests = [None] * len(ids) if digests is None else list(digests)
    found = ids[ids >= 0]
    meta = {m["id"]: m for m in store.metadata(np.unique(found).tolist())} if found.size else {}
    out = []
    for q in range(len(ids)):
        hit = ids[q] >= 0
        out.append(ranked(ids[q][hit], distances[q][hit], [meta[int(i)] for i in ids[q][hit]],
                          digests[q]))
    return out


def ranked(ids: np.ndarray, distances: np.ndarray, rows: Sequence[dict],
           digest: bytes | None) -> list[SearchResult]:
    """One query's answers (ids, distances and ``metadata`` rows, in any order) as
    ``SearchResult`` rows in the exact index's tie rule: by distance, the query file's own bytes
    (same sha1) first among equals, then smaller ids."""
    same = np.array([digest is not None and m["sha1"] == digest.hex() for m in rows], bool)
    order = np.lexsort((ids, ~same, distances))
    return [SearchResult(rank=r + 1, id=rows[i]["id"], path=rows[i]["path"],
                         distance=int(distances[i]), labels=list(rows[i]["labels"]),
                         same_file=bool(same[i]))
            for r, i in enumerate(order)]
