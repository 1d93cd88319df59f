"""Multi-index hashing: sublinear exact Hamming search (Norouzi, Punjani, Fleet, CVPR 2012).

Each code is cut into m disjoint substrings and every substring is a key into its own table.
Pigeonhole: if two codes differ in at most r bits, with r = m * rho + a (0 <= a < m), then one of
the first a + 1 substrings differs in at most rho bits or one of the others in at most rho - 1.
So a radius query probes, per table, the few buckets within rho of the query's substring, and
verifies only the codes found there. k-NN grows rho table by table; after table j at rho every
code within m * rho + j has been seen, which ends the search once k codes lie that close.

Tables are a permutation of the rows sorted by bucket plus bucket offsets (counting sort). A
substring longer than the table's address width is folded by a fixed random XOR map, which is
linear, so flipping bit i of a key flips a known mask of its bucket: probing stays a XOR per
bit and a collision only adds a candidate that verification rejects. A query whose probes
would visit too many codes is handed back to the caller, who answers it with the exact scan:
the results are always exact, MIH only decides how fast.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from dshgan.index.kernels import CHUNK, chunk_distances
from dshgan.index.packing import from_planes

STATUS_OK = 0
STATUS_SCAN = 1  # too many candidates or results: answer this query with the exact scan


def split_substrings(bits: int, substrings: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each of ``substrings`` contiguous substrings (the first are longer)."""
    if not 1 <= substrings <= bits:
        raise ValueError(f"substrings must be in [1, bits={bits}], got {substrings}")
    base, extra = divmod(bits, substrings)
    lengths = np.array([base + (i < extra) for i in range(substrings)], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return starts, lengths


def table_radii(radius: int, substrings: int) -> np.ndarray:
    """Per-table probe radius for an inclusive search radius (pigeonhole; -1 = skip table)."""
    rho, a = divmod(radius, substrings)
    return np.array([rho if t <= a else rho - 1 for t in range(substrings)], np.int64)


@njit(cache=True, parallel=True)
def _buckets(packed, starts, lengths, masks, out, row0):
    """out[t, row0 + r] = bucket of row r's substring t (XOR of the masks of its set bits)."""
    for r in prange(packed.shape[0]):
        for t in range(starts.shape[0]):
            h = 0
            for i in range(lengths[t]):
                pos = starts[t] + i
                if (packed[r, pos >> 3] >> (7 - (pos & 7))) & 1:
                    h ^= masks[t, i]
            out[t, row0 + r] = h


@njit(cache=True)
def _counting_sort(keys, nbuckets, perm, offsets):
    """Stable counting sort of rows by key: rows of one bucket stay ascending."""
    offsets[:] = 0
    for r in range(keys.shape[0]):
        offsets[keys[r] + 1] += 1
    for b in range(nbuckets):
        offsets[b + 1] += offsets[b]
    fill = offsets[:nbuckets].copy()
    for r in range(keys.shape[0]):
        b = keys[r]
        perm[fill[b]] = r
        fill[b] += 1


@njit(cache=True)
def _first_combo(idx, size):
    for i in range(size):
        idx[i] = i


@njit(cache=True)
def _next_combo(idx, size, length):
    """Advance ``idx[:size]`` to the next ``size``-subset of range(length); False when done."""
    i = size - 1
    while i >= 0 and idx[i] == length - size + i:
        i -= 1
    if i < 0:
        return False
    idx[i] += 1
    for j in range(i + 1, size):
        idx[j] = idx[j - 1] + 1
    return True


@njit(cache=True)
def comb(n, r):
    """Binomial coefficient, saturating far above any budget."""
    if r < 0 or r > n:
        return 0
    out = 1
    for i in range(min(r, n - r)):
        out = out * (n - i) // (i + 1)
        if out > 1 << 40:
            return 1 << 40
    return out


@njit(cache=True)
def _probe_buckets(qbucket, masks, t, length, lo_size, hi_size, hashed, idx, out):
    """Buckets of every key lo_size..hi_size flips away from the query's key, without repeats
    (folding can send two keys to one bucket). Returns how many were written to ``out``."""
    count = 0
    for size in range(lo_size, min(hi_size, length) + 1):
        _first_combo(idx, size)
        more = True
        while more:
            bucket = qbucket
            for i in range(size):
                bucket ^= masks[t, idx[i]]
            out[count] = bucket
            count += 1
            more = _next_combo(idx, size, length)
    if hashed and count > 1:
        out[:count] = np.sort(out[:count])
        w = 1
        for i in range(1, count):
            if out[i] != out[w - 1]:
                out[w] = out[i]
                w += 1
        count = w
    return count


@njit(cache=True)
def mih_range_candidates(qbuckets, radii, lengths, hashed, masks, offsets, maxprobe):
    """Codes each radius query would verify (its probed buckets' sizes, duplicates included)."""
    m = lengths.shape[0]
    nq = qbuckets.shape[1]
    out = np.zeros(nq, np.int64)
    idx = np.empty(lengths.max() + 1, np.int64)
    probes = np.empty(maxprobe, np.int64)
    for q in range(nq):
        total = 0
        for t in range(m):
            if radii[t] < 0:
                continue
            nprobe = _probe_buckets(qbuckets[t, q], masks, t, lengths[t], 0, radii[t],
                                    hashed[t], idx, probes)
            for pi in range(nprobe):
                total += offsets[t, probes[pi] + 1] - offsets[t, probes[pi]]
        out[q] = total
    return out


END_OF_RUN = np.int64(1) << 62  # sentinel key closing each run of hits
DIST_BITS = 11  # a hit is one int64 key, row << DIST_BITS | distance (distances <= 1024)
DIST_MASK = (1 << DIST_BITS) - 1


@njit(cache=True)
def _union(keys, runs, nruns, out):
    """Union of ascending runs of hit keys, each closed by END_OF_RUN, ascending and without
    repeats (a code met in several tables has one key). Returns the count written to ``out``.
    Keys order by row first, so this is row order."""
    if nruns > 4:  # many probed buckets: sort instead
        c = 0
        for a in range(nruns):
            for i in range(runs[a], runs[a + 1] - 1):
                out[c] = keys[i]
                c += 1
        out[:c] = np.sort(out[:c])
        o = 0
        for i in range(c):
            if i == 0 or out[i] != out[o - 1]:
                out[o] = out[i]
                o += 1
        return o
    # up to four runs (the common case: one bucket per table): a four-way merge on scalar
    # heads, branch-free; every run whose head is the minimum advances, which drops repeats
    empty = keys.shape[0] - 1  # holds END_OF_RUN: an absent run starts there
    h0 = runs[0] if nruns > 0 else empty
    h1 = runs[1] if nruns > 1 else empty
    h2 = runs[2] if nruns > 2 else empty
    h3 = runs[3] if nruns > 3 else empty
    k0, k1, k2, k3 = keys[h0], keys[h1], keys[h2], keys[h3]
    o = 0
    while True:
        low = min(min(k0, k1), min(k2, k3))
        if low == END_OF_RUN:
            break
        out[o] = low
        o += 1
        h0 += k0 == low
        h1 += k1 == low
        h2 += k2 == low
        h3 += k3 == low
        k0, k1, k2, k3 = keys[h0], keys[h1], keys[h2], keys[h3]
    return o


@njit(cache=True, parallel=True)
def mih_range(c64, c32, c16, c8, q64, q32, q16, q8, qbuckets, radius, radii, lengths, hashed,
              masks, perm, offsets, bounds, active, maxcand, maxprobe, nblocks, scratch, out_d,
              out_r):
    """Radius search by MIH for the ``active`` queries; returns the hit count of each query.

    Block b answers queries qa..qz-1 and writes their hits back to back, each query's in
    (distance, row) order, from ``out_*[bounds[qa]]`` on (``bounds`` leaves room for every
    candidate plus one). Hits of one bucket come in row order (the tables are stably sorted),
    so a k-way merge of the buckets' runs sorts by row and drops the repeats of codes met in
    several tables; a stable partition by distance finishes.
    """
    nq = q64.shape[1]
    m = lengths.shape[0]
    counts = np.zeros(nq, np.int64)
    for b in prange(nblocks):
        qa = b * nq // nblocks
        qz = (b + 1) * nq // nblocks
        idx = np.empty(lengths.max() + 1, np.int64)
        probes = np.empty(maxprobe, np.int64)
        dist = np.zeros(CHUNK, scratch.dtype)
        size = maxcand + m * maxprobe + 2  # candidates, a sentinel per run, one spare
        keys = np.empty(size, np.int64)
        merged = np.empty(size, np.int64)
        runs = np.empty(m * maxprobe + 1, np.int64)
        keys[size - 1] = END_OF_RUN
        hist = np.zeros(radius + 2, np.int64)
        p = bounds[qa]
        for q in range(qa, qz):
            if not active[q]:
                continue
            c = 0
            nruns = 0
            for t in range(m):
                if radii[t] < 0:
                    continue
                nprobe = _probe_buckets(qbuckets[t, q], masks, t, lengths[t], 0, radii[t],
                                        hashed[t], idx, probes)
                for pi in range(nprobe):
                    lo = offsets[t, probes[pi]]
                    hi = offsets[t, probes[pi] + 1]
                    runs[nruns] = c
                    for c0 in range(lo, hi, CHUNK):
                        mm = min(hi, c0 + CHUNK) - c0
                        chunk_distances(c64[t], c32[t], c16[t], c8[t], q64, q32, q16, q8, q,
                                        c0, mm, dist)
                        for j in range(mm):  # branch-free: hits are too common to predict
                            d = np.int64(dist[j])
                            keys[c] = (np.int64(perm[t, c0 + j]) << DIST_BITS) | d
                            c += d <= radius
                    if c > runs[nruns]:
                        keys[c] = END_OF_RUN
                        c += 1
                        nruns += 1
            runs[nruns] = c
            c = _union(keys, runs, nruns, merged)
            if radius < 8:  # stable partition by distance, one branch-free pass per distance
                for v in range(radius + 1):
                    for i in range(c):
                        key = merged[i]
                        out_d[p] = key & DIST_MASK
                        out_r[p] = key >> DIST_BITS
                        p += (key & DIST_MASK) == v
            else:  # counting sort
                hist[:] = 0
                for i in range(c):
                    hist[(merged[i] & DIST_MASK) + 1] += 1
                hist[0] = p
                for v in range(radius + 1):
                    hist[v + 1] += hist[v]
                for i in range(c):
                    v = merged[i] & DIST_MASK
                    out_d[hist[v]] = v
                    out_r[hist[v]] = merged[i] >> DIST_BITS
                    hist[v] += 1
                p = hist[radius]
            counts[q] = c
    return counts


@njit(cache=True, parallel=True)
def mih_knn(c64, c32, c16, c8, q64, q32, q16, q8, qbuckets, k, bits, lengths, hashed, masks,
            perm, offsets, budget, cap, nblocks, scratch):
    """k-NN by MIH with a growing radius. Returns (status, d, rows) in (distance, row) order.

    Level rho probes the keys exactly rho flips away, table by table; after table t, every
    code within m * rho + t has been met, which ends the search once k met codes lie within.
    A per-block stamp array (stamp[row] == q + 1) keeps a code from counting twice.
    """
    n = perm.shape[1]
    nq = q64.shape[1]
    m = lengths.shape[0]
    maxlen = lengths.max()
    status = np.zeros(nq, np.int8)
    out_d = np.empty((nq, k), np.int32)
    out_r = np.empty((nq, k), np.int64)
    for b in prange(nblocks):
        qa = b * nq // nblocks
        qz = (b + 1) * nq // nblocks
        stamp = np.zeros(n, np.uint32)
        idx = np.empty(maxlen + 1, np.int64)
        hist = np.zeros(bits + 1, np.int64)
        buf_d = np.empty(cap, np.int64)
        buf_r = np.empty(cap, np.int64)
        dist = np.zeros(CHUNK, scratch.dtype)
        probes = np.empty(1024, np.int64)
        for q in range(qa, qz):
            hist[:] = 0
            found = 0
            u = bits  # no code beyond u can enter: k met codes lie within u
            c = 0
            seen = 0
            ok = True
            done = False
            rho = 0
            while not done and ok and rho <= maxlen:
                for t in range(m):
                    if rho <= lengths[t]:
                        nprobe_max = comb(lengths[t], rho)
                        seen += nprobe_max
                        if seen > budget:
                            ok = False
                            break
                        if nprobe_max > probes.shape[0]:
                            probes = np.empty(nprobe_max, np.int64)
                        nprobe = _probe_buckets(qbuckets[t, q], masks, t, lengths[t], rho, rho,
                                                hashed[t], idx, probes)
                        for pi in range(nprobe):
                            lo = offsets[t, probes[pi]]
                            hi = offsets[t, probes[pi] + 1]
                            seen += hi - lo
                            if seen > budget:
                                ok = False
                                break
                            for c0 in range(lo, hi, CHUNK):
                                mm = min(hi, c0 + CHUNK) - c0
                                chunk_distances(c64[t], c32[t], c16[t], c8[t], q64, q32, q16,
                                                q8, q, c0, mm, dist)
                                for j in range(mm):
                                    d = np.int64(dist[j])
                                    if d > u:
                                        continue
                                    row = perm[t, c0 + j]
                                    if stamp[row] == q + 1:
                                        continue
                                    stamp[row] = q + 1
                                    if c == cap:  # drop codes that fell beyond u
                                        keep = 0
                                        for i in range(cap):
                                            if buf_d[i] <= u:
                                                buf_d[keep] = buf_d[i]
                                                buf_r[keep] = buf_r[i]
                                                keep += 1
                                        c = keep
                                        if c == cap:
                                            ok = False
                                            break
                                    buf_d[c] = d
                                    buf_r[c] = row
                                    c += 1
                                    hist[d] += 1
                                    found += 1
                                    if found >= k:
                                        acc = 0
                                        for v in range(bits + 1):
                                            acc += hist[v]
                                            if acc >= k:
                                                u = v
                                                break
                                if not ok:
                                    break
                            if not ok:
                                break
                    if not ok:
                        break
                    # every code within m * rho + t has been met now
                    if found >= k and u <= m * rho + t:
                        done = True
                        break
                rho += 1
            if not ok:
                status[q] = STATUS_SCAN
                continue
            for i in range(c):
                buf_d[i] = buf_d[i] * n + buf_r[i]
            sk = np.sort(buf_d[:c])
            for i in range(k):
                out_d[q, i] = sk[i] // n
                out_r[q, i] = sk[i] % n
    return status, out_d, out_r


class MultiIndexTables:
    """The m substring tables of an index's rows; rebuilt whenever the rows change.

    Each table holds the rows sorted by bucket (``perm``), the bucket offsets, and a copy of
    the codes in that order, so that verifying a bucket streams contiguous memory with the
    same vector kernel as the scan (a random access per candidate costs ~50x more). Memory:
    m x (packed code + 4 bytes) per code, plus the offsets.
    """

    def __init__(self, bits: int, substrings: int, seed: int = 0) -> None:
        self.bits = bits
        self.substrings = substrings
        self.starts, self.lengths = split_substrings(bits, substrings)
        self._seed = seed
        self.budget_fraction = 1 / 64
        self.n = 0
        self.address_bits = 0
        self.hashed = np.zeros(substrings, np.bool_)
        self.masks = np.zeros((substrings, int(self.lengths.max())), np.int64)
        self.perm = np.zeros((substrings, 0), np.int32)
        self.offsets = np.zeros((substrings, 2), np.int64)
        self.copies: tuple[np.ndarray, ...] = ()

    def _make_masks(self, address_bits: int) -> None:
        """Bit i of a substring flips ``masks[t, i]`` of its bucket (identity when it fits)."""
        rng = np.random.default_rng(self._seed)
        self.masks[:] = 0
        for t, length in enumerate(self.lengths):
            self.hashed[t] = length > address_bits
            if length <= address_bits:
                self.masks[t, :length] = 1 << np.arange(length - 1, -1, -1)
            else:
                self.masks[t, :length] = rng.integers(0, 1 << address_bits, size=length)

    def build(self, planes: tuple[np.ndarray, ...]) -> None:
        """Index the rows held in ``planes``; about log2(n) - 1 address bits per table."""
        n = planes[0].shape[1]
        self.n = n
        address_bits = max(4, min(26, int(np.log2(max(n, 2))) - 1))
        self.address_bits = address_bits
        self._make_masks(address_bits)
        nbuckets = 1 << int(min(address_bits, int(self.lengths.max())))
        keys = np.empty((self.substrings, n), np.int64)
        step = 1 << 16
        for r0 in range(0, n, step):
            sub = tuple(p[:, r0 : r0 + step] for p in planes)
            _buckets(from_planes(sub, self.bits), self.starts, self.lengths, self.masks, keys, r0)
        row_dtype = np.int32 if n < 2**31 else np.int64
        self.perm = np.empty((self.substrings, n), row_dtype)
        self.offsets = np.empty((self.substrings, nbuckets + 1), np.int64)
        for t in range(self.substrings):
            _counting_sort(keys[t], nbuckets, self.perm[t], self.offsets[t])
        del keys
        self.copies = tuple(
            np.stack([np.take(p, self.perm[t], axis=1) for t in range(self.substrings)])
            for p in planes
        )

    def budget(self) -> int:
        """Codes and probes a query may visit before the scan is cheaper."""
        return max(256, int(self.n * self.budget_fraction))

    def max_probes(self, radius: int) -> int:
        """Buckets one radius query probes in its busiest table (the same for every query)."""
        from math import comb as math_comb

        return max(
            [1] + [sum(math_comb(int(length), r) for r in range(min(int(rad), int(length)) + 1))
                   for length, rad in zip(self.lengths, table_radii(radius, self.substrings))]
        )

    def range(self, qpacked: np.ndarray, qplanes: tuple, radius: int, nblocks: int,
              scratch: np.ndarray) -> tuple[np.ndarray, ...]:
        """(active, lims, d, rows) of a radius search; inactive queries must be scanned."""
        radii = table_radii(radius, self.substrings)
        qbuckets = self.query_buckets(qpacked)
        maxprobe = self.max_probes(radius)
        cand = mih_range_candidates(qbuckets, radii, self.lengths, self.hashed, self.masks,
                                    self.offsets, maxprobe)
        active = cand <= self.budget()
        nq = cand.shape[0]
        maxcand = int(cand[active].max()) if active.any() else 0
        bounds = np.zeros(nq + 1, np.int64)  # + 1: the partition writes one past
        np.cumsum(np.where(active, cand + 1, 0), out=bounds[1:])
        # reserved for every candidate; only the pages that hits touch are ever mapped in
        d = np.empty(int(bounds[-1]), np.int32)
        rows = np.empty(int(bounds[-1]), np.int64)
        counts = mih_range(*self.copies, *qplanes, qbuckets, radius, radii, self.lengths,
                           self.hashed, self.masks, self.perm, self.offsets, bounds, active,
                           maxcand, maxprobe, nblocks, scratch, d, rows)
        lims = np.zeros(nq + 1, np.int64)
        np.cumsum(counts, out=lims[1:])
        for b in range(1, nblocks):  # close the gaps between the blocks' answers
            qa, qz = b * nq // nblocks, (b + 1) * nq // nblocks
            size = int(lims[qz] - lims[qa])
            src, dst = int(bounds[qa]), int(lims[qa])
            d[dst : dst + size] = d[src : src + size]
            rows[dst : dst + size] = rows[src : src + size]
        # shrink in place: realloc returns the unused tail without copying the answers
        d.resize(int(lims[-1]), refcheck=False)
        rows.resize(int(lims[-1]), refcheck=False)
        return active, lims, d, rows

    def knn(self, qpacked: np.ndarray, qplanes: tuple, k: int, cap: int, nblocks: int,
            scratch: np.ndarray) -> tuple[np.ndarray, ...]:
        """(status, d, rows) of a k-NN search (k <= rows); status != 0: answer by scanning."""
        return mih_knn(*self.copies, *qplanes, self.query_buckets(qpacked), k, self.bits,
                       self.lengths, self.hashed, self.masks, self.perm, self.offsets,
                       self.budget(), cap, nblocks, scratch)

    def query_buckets(self, qpacked: np.ndarray) -> np.ndarray:
        out = np.empty((self.substrings, qpacked.shape[0]), np.int64)
        _buckets(qpacked, self.starts, self.lengths, self.masks, out, 0)
        return out

    def probes(self, radius: int) -> int:
        """Buckets one radius query probes in all tables together."""
        from math import comb as math_comb

        return sum(
            sum(math_comb(int(length), r) for r in range(min(int(rad), int(length)) + 1))
            for length, rad in zip(self.lengths, table_radii(radius, self.substrings))
            if rad >= 0
        )

    @property
    def nbytes(self) -> int:
        return int(self.perm.nbytes + self.offsets.nbytes + self.masks.nbytes
                   + sum(c.nbytes for c in self.copies))
