"""HammingIndex: exact k-NN and radius search over binary codes, with optional multi-index hashing.

Rows are kept sorted by id, so the scan meets codes in id order and the (distance, id) order of
every answer, ties included, falls out of a stable counting sort (see ``kernels``). Codes live as
word planes (``packing.to_planes``): exactly the packed size, plus 8 bytes per id.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral

import numba
import numpy as np

from dshgan.index import kernels
from dshgan.index.file_format import IndexFile, read_index, write_index
from dshgan.index.multi_index import STATUS_OK, MultiIndexTables
from dshgan.index.packing import (
    PLANE_DTYPES,
    as_binary_codes,
    from_planes,
    plane_widths,
    to_planes,
)

MAX_BITS = 1024
PAD_DISTANCE = np.iinfo(np.int32).max
QUERY_BLOCK = 16  # queries answered together while a database chunk sits in cache
RANGE_CAP = 4096  # hits stored per query in the first range pass; larger answers are rerun
MAX_BUFFER = 1 << 26  # bytes of per-block candidate buffers before query blocks shrink
SCAN_PER_THREAD = 1 << 22  # code comparisons (about half a millisecond) worth a thread
MIH_QUERIES_PER_THREAD = 256


def _as_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    return operator.index(value)


class HammingIndex:
    """Exact Hamming search over ``bits``-bit codes (1 <= bits <= 1024).

    ``multi_index=m`` adds multi-index hashing with m substrings: radius and k-NN queries probe
    hash tables instead of scanning, with the same results (queries whose probes would cost more
    than a scan are answered by the scan).
    """

    def __init__(self, bits: int, *, multi_index: int | None = None) -> None:
        bits = _as_int(bits, "bits")
        if not 1 <= bits <= MAX_BITS:
            raise ValueError(f"bits must be in [1, {MAX_BITS}], got {bits}")
        self.bits = bits
        self.nbytes_per_code = (bits + 7) // 8
        self._planes = tuple(
            np.zeros((w, 0), dt) for w, dt in zip(plane_widths(bits), PLANE_DTYPES)
        )
        self._ids = np.zeros(0, np.int64)
        self._next_id = 0
        self._mih: MultiIndexTables | None = None
        self._mih_fresh = False
        if multi_index is not None:
            m = _as_int(multi_index, "multi_index")
            if not 1 <= m <= bits:
                raise ValueError(f"multi_index (substrings) must be in [1, bits={bits}], got {m}")
            self._mih = MultiIndexTables(bits, m)

    # ------------------------------------------------------------------ properties
    def __len__(self) -> int:
        return int(self._ids.shape[0])

    @property
    def ntotal(self) -> int:
        return len(self)

    @property
    def ids(self) -> np.ndarray:
        """Stored ids, ascending (read-only view)."""
        view = self._ids.view()
        view.flags.writeable = False
        return view

    @property
    def multi_index(self) -> int | None:
        return None if self._mih is None else self._mih.substrings

    @property
    def nbytes(self) -> int:
        """Memory held: codes (exactly packed size) + 8 bytes per id + any MIH tables."""
        total = sum(p.nbytes for p in self._planes) + self._ids.nbytes
        if self._mih is not None and self._mih_fresh:
            total += self._mih.nbytes
        return int(total)

    def __repr__(self) -> str:
        mih = f", multi_index={self.multi_index}" if self._mih is not None else ""
        return f"{type(self).__name__}(bits={self.bits}{mih}, ntotal={len(self)})"

    # ------------------------------------------------------------------ input checks
    def _packed(self, codes: np.ndarray, packed: bool, name: str) -> np.ndarray:
        """Validate codes or queries and return packed uint8 (n, ceil(bits/8))."""
        if not packed:
            return np.packbits(as_binary_codes(codes, self.bits, name), axis=1)
        codes = np.asarray(codes)
        if codes.dtype != np.uint8:
            raise TypeError(f"packed {name} must be uint8, got dtype {codes.dtype}")
        if codes.ndim != 2 or codes.shape[1] != self.nbytes_per_code:
            raise ValueError(f"packed {name} must have shape (n, {self.nbytes_per_code}) for "
                             f"{self.bits} bits, got {codes.shape}")
        spare = 8 * self.nbytes_per_code - self.bits
        if spare and codes.size and (codes[:, -1] & np.uint8((1 << spare) - 1)).any():
            raise ValueError(f"packed {name} have bits set beyond bit {self.bits} (padding "
                             "must be zero, as np.packbits writes it)")
        return np.ascontiguousarray(codes)

    # ------------------------------------------------------------------ mutation
    def add(self, codes: np.ndarray, ids: np.ndarray | None = None, *,
            packed: bool = False) -> None:
        """Add codes (n, bits) in {0,1} (or packed uint8 with ``packed=True``) under ``ids``.

        Ids default to insertion order: the next unused integers, counting every code ever
        added. Ids must be unique, >= 0 (-1 marks a missing answer) and not already stored.
        """
        packed_codes = self._packed(codes, packed, "codes")
        n = packed_codes.shape[0]
        if ids is None:
            new_ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        else:
            new_ids = np.asarray(ids)
            if new_ids.dtype == np.bool_ or not np.issubdtype(new_ids.dtype, np.integer):
                raise TypeError(f"ids must be integers, got dtype {new_ids.dtype}")
            if new_ids.shape != (n,):
                raise ValueError(f"ids must have shape ({n},) to match the codes, "
                                 f"got {new_ids.shape}")
            new_ids = new_ids.astype(np.int64)
            if n and new_ids.min() < 0:
                raise ValueError("ids must be >= 0 (-1 marks a missing answer)")
            uniq, counts = np.unique(new_ids, return_counts=True)
            if (counts > 1).any():
                raise ValueError(f"ids must be unique; duplicated: {uniq[counts > 1][:5].tolist()}")
            clash = np.intersect1d(uniq, self._ids, assume_unique=True)
            if clash.size:
                raise ValueError(f"ids already in the index: {clash[:5].tolist()}")
        if n == 0:
            return
        new_planes = to_planes(packed_codes, self.bits)
        in_order = (len(self) == 0 or new_ids[0] > self._ids[-1]) and (
            n == 1 or bool((np.diff(new_ids) > 0).all()))
        all_ids = np.concatenate([self._ids, new_ids])
        planes = [np.concatenate([old, new], axis=1) for old, new in zip(self._planes, new_planes)]
        if not in_order:
            order = np.argsort(all_ids, kind="stable")
            all_ids = all_ids[order]
            planes = [np.ascontiguousarray(p[:, order]) for p in planes]
        self._ids = all_ids
        self._planes = tuple(planes)
        self._next_id = max(self._next_id, int(new_ids.max()) + 1)
        self._changed()

    def remove(self, ids: np.ndarray) -> int:
        """Remove the codes with these ids (absent ids are ignored); returns how many went."""
        ids = np.asarray(ids)
        if ids.dtype == np.bool_ or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
            raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
        drop = np.isin(self._ids, ids.astype(np.int64).ravel())
        removed = int(drop.sum())
        if removed:
            keep = ~drop
            self._ids = self._ids[keep]
            self._planes = tuple(np.ascontiguousarray(p[:, keep]) for p in self._planes)
            self._changed()
        return removed

    def _changed(self) -> None:
        """The rows changed: derived structures (MIH tables, a back end's copy) are stale."""
        self._mih_fresh = False

    def reset(self) -> None:
        """Remove every code (the id counter keeps counting)."""
        self.remove(self._ids)

    def codes(self, *, packed: bool = False) -> np.ndarray:
        """Stored codes in id order: {0,1} uint8 (n, bits), or packed uint8."""
        out = from_planes(self._planes, self.bits)
        return out if packed else np.unpackbits(out, axis=1, count=self.bits)

    # ------------------------------------------------------------------ search
    def _query_planes(self, queries: np.ndarray, packed: bool) -> tuple[np.ndarray, tuple]:
        qpacked = self._packed(queries, packed, "queries")
        return qpacked, to_planes(qpacked, self.bits)

    def _mih_tables(self) -> MultiIndexTables | None:
        if self._mih is None or len(self) == 0:
            return None
        if not self._mih_fresh:
            self._mih.build(self._planes)
            self._mih_fresh = True
        return self._mih

    def search(self, queries: np.ndarray, k: int, *,
               packed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Exact k nearest codes of each query: (int32 distances, int64 ids), shape (nq, k).

        Rows are in (distance, id) order; when fewer than k codes are stored, the rest of a
        row holds id -1 and distance ``np.iinfo(np.int32).max``.
        """
        k = _as_int(k, "k")
        if k <= 0:
            raise ValueError(f"k must be >= 1, got {k}")
        qpacked, qplanes = self._query_planes(queries, packed)
        nq = qpacked.shape[0]
        distances = np.full((nq, k), PAD_DISTANCE, np.int32)
        ids = np.full((nq, k), -1, np.int64)
        kk = min(k, len(self))
        if nq == 0 or kk == 0:
            return distances, ids
        d, rows = self._knn_rows(qpacked, qplanes, kk)
        distances[:, :kk] = d
        ids[:, :kk] = self._row_ids(rows)
        return distances, ids

    def _knn_rows(self, qpacked: np.ndarray, qplanes: tuple, k: int) -> tuple[np.ndarray, ...]:
        mih = self._mih_tables()
        if mih is None:
            return self._scan_knn(qplanes, k)
        nq = qpacked.shape[0]
        cap = max(8 * k, 1024)
        with _parallel(nq, MIH_QUERIES_PER_THREAD) as threads:
            status, d, rows = mih.knn(qpacked, qplanes, k, cap, threads,
                                      kernels.scratch_for(self.bits)[0])
        redo = np.flatnonzero(status != STATUS_OK)
        if redo.size:
            sub = tuple(np.ascontiguousarray(p[:, redo]) for p in qplanes)
            d[redo], rows[redo] = self._scan_knn(sub, k)
        return d, rows

    def _scan_knn(self, qplanes: tuple, k: int) -> tuple[np.ndarray, np.ndarray]:
        nq = qplanes[0].shape[1]
        per_query = 12 * min(3 * k, len(self))
        with _parallel(nq * len(self), SCAN_PER_THREAD) as threads:
            qblock = max(1, min(QUERY_BLOCK, -(-nq // threads), MAX_BUFFER // per_query))
            chunk, scratch = kernels.chunk_for(self.bits), kernels.scratch_for(self.bits)
            return kernels.knn_scan(*self._planes, *qplanes, k, self.bits, qblock, chunk,
                                    *scratch)

    def range_search(self, queries: np.ndarray, radius: int, *,
                     packed: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every code within Hamming distance <= radius (inclusive), like faiss's range_search.

        Returns (lims, distances, ids): the answers of query i are ``[lims[i]:lims[i + 1]]``,
        in (distance, id) order.
        """
        radius = _as_int(radius, "radius")
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        qpacked, qplanes = self._query_planes(queries, packed)
        nq = qpacked.shape[0]
        if nq == 0 or len(self) == 0:
            return np.zeros(nq + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64)
        radius = min(radius, self.bits)
        lims, d, rows = self._range_rows(qpacked, qplanes, radius)
        return lims, d, self._row_ids(rows)

    def _row_ids(self, rows: np.ndarray) -> np.ndarray:
        """Ids of rows; ids without gaps (the default) are an offset, not a gather."""
        n = len(self)
        if n and self._ids[-1] - self._ids[0] == n - 1:
            return rows + self._ids[0]
        return self._ids[rows]

    def _range_rows(self, qpacked: np.ndarray, qplanes: tuple,
                    radius: int) -> tuple[np.ndarray, ...]:
        mih = self._mih_tables()
        nq = qpacked.shape[0]
        if mih is None or mih.probes(radius) * 64 > len(self):
            counts, hit_d, hit_r = self._scan_range(qplanes, radius)
            return kernels.order_hits(counts, hit_d, hit_r, radius)
        with _parallel(nq, MIH_QUERIES_PER_THREAD) as threads:
            blocks = 1 if threads == 1 else min(8 * threads, nq // 16)
            active, lims, d, rows = mih.range(qpacked, qplanes, radius, blocks,
                                              kernels.scratch_for(self.bits)[0])
        redo = np.flatnonzero(~active)
        if redo.size == 0:
            return lims, d, rows
        sub = tuple(np.ascontiguousarray(p[:, redo]) for p in qplanes)
        lims2, d2, rows2 = kernels.order_hits(*self._scan_range(sub, radius), radius)
        return kernels.merge_answers(lims, d, rows, redo, lims2, d2, rows2)

    def _scan_range(self, qplanes: tuple, radius: int) -> tuple[np.ndarray, ...]:
        """(counts, d, rows) per query, hits in row order; one scan unless answers overflow."""
        nq = qplanes[0].shape[1]
        with _parallel(nq * len(self), SCAN_PER_THREAD) as threads:
            qblock = max(1, min(QUERY_BLOCK, -(-nq // threads)))
            chunk, scratch = kernels.chunk_for(self.bits), kernels.scratch_for(self.bits)
            cap = min(RANGE_CAP, len(self))
            counts, hit_d, hit_r = kernels.range_scan(*self._planes, *qplanes, radius, cap,
                                                      qblock, chunk, *scratch)
            over = np.flatnonzero(counts > cap)
            if over.size:
                wide = int(counts[over].max())
                sub = tuple(np.ascontiguousarray(p[:, over]) for p in qplanes)
                _, d2, r2 = kernels.range_scan(*self._planes, *sub, radius, wide,
                                               max(1, min(qblock, over.size)), chunk, *scratch)
                hit_d, hit_r = _widen(hit_d, wide), _widen(hit_r, wide)
                hit_d[over] = d2
                hit_r[over] = r2
        return counts, hit_d, hit_r

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike, metadata: dict | None = None) -> None:
        """Write the index to ``path`` atomically (see ``file_format``).

        ``metadata`` (a JSON-able dict) is stored in the same file (format version 2), so that
        what describes the codes is replaced together with them; without it the file is
        version 1, readable by older dshgan.
        """
        write_index(path, IndexFile(bits=self.bits, substrings=self.multi_index or 0,
                                    next_id=self._next_id, ids=self._ids, planes=self._planes,
                                    metadata=metadata))

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = False) -> HammingIndex:
        """Read an index written by :meth:`save`; ``mmap=True`` maps the codes from the file
        (pages load on demand; the file is never written through the mapping).

        Raises ``IndexFileError`` (a ValueError) for a truncated, foreign or corrupt file.
        """
        return cls.load_with_metadata(path, mmap=mmap)[0]

    @classmethod
    def load_with_metadata(cls, path: str | os.PathLike,
                           mmap: bool = False) -> tuple[HammingIndex, dict | None]:
        """:meth:`load`, and the metadata saved with the codes (None in a version-1 file)."""
        f = read_index(path, mmap=mmap)
        index = cls(f.bits, multi_index=f.substrings or None)
        index._ids = f.ids
        index._planes = f.planes
        index._next_id = f.next_id
        return index, f.metadata


@contextmanager
def _parallel(work: int, per_thread: int) -> Iterator[int]:
    """Run with at most one numba thread per ``per_thread`` units of work. Starting a parallel
    region costs tens of microseconds, and far more when another process holds a core (the
    waiting threads spin), so small jobs stay on one thread."""
    before = numba.get_num_threads()
    threads = max(1, min(before, work // per_thread))
    if threads != before:
        numba.set_num_threads(threads)
    # blocks are handed out one at a time: a thread that loses its core to another process
    # delays only its current block, not a fixed share of the work
    chunksize = numba.set_parallel_chunksize(1)
    try:
        yield threads
    finally:
        numba.set_parallel_chunksize(chunksize)
        if threads != before:
            numba.set_num_threads(before)


def _widen(a: np.ndarray, width: int) -> np.ndarray:
    if a.shape[1] >= width:
        return a
    out = np.empty((a.shape[0], width), a.dtype)
    out[:, : a.shape[1]] = a
    return out
