"""numba kernels for exact Hamming search over word planes (see ``packing.to_planes``).

Why it is fast: the database is scanned in cache-sized chunks; for each chunk a block of queries
is answered while the chunk stays in cache. Per query and chunk, one tight loop writes all
distances into a small byte (or 16-bit) buffer; LLVM turns it into vector popcounts. A second
loop reads the buffer eight bytes at a time and, with the SWAR "has a byte less than t" test,
skips every group that holds no candidate, so the branchy bookkeeping runs only for the rare
codes that can enter the answer.

Top-k needs no heap: distances are integers in [0, bits], so a query keeps a histogram of the
distances it has accepted and a threshold ``t`` (the k-th distance seen so far); a code enters
only if its distance is <= t, and only while fewer than k codes share its distance. Candidates
are kept in scan (storage) order, so a stable counting sort at the end yields (distance, row)
order; rows ascend with ids, so this is the (distance, id) order, ties included.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

INT32_MAX = np.iinfo(np.int32).max
CHUNK = 4096  # most database codes per chunk; a chunk stays in cache across a query block
SWAR_SPAN = 32  # groups (of 8 bytes) tested at once before looking at single groups


@intrinsic
def popcount(typingctx, x):
    """llvm.ctpop on any unsigned integer; vectorises to VPOPCNT where the CPU has it."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.ctpop(args[0])

    return x(x), codegen


def chunk_for(bits: int) -> int:
    """Codes per chunk: about 32 KiB of codes (L1-sized), measured best at 64 and 128 bits."""
    return max(1024, min(CHUNK, 32768 // ((bits + 7) // 8)))


def scratch_for(bits: int) -> tuple[np.ndarray, np.uint64, np.uint64, int, int]:
    """Distance buffer dtype and SWAR constants: bytes while distances fit, else 16-bit lanes."""
    if bits <= 255:
        return (np.empty(0, np.uint8), np.uint64(0x0101010101010101),
                np.uint64(0x8080808080808080), 8, 128)
    return (np.empty(0, np.uint16), np.uint64(0x0001000100010001),
            np.uint64(0x8000800080008000), 4, 32768)


@njit(cache=True)
def chunk_distances(p64, p32, p16, p8, q64, q32, q16, q8, qi, c0, m, dist):
    """dist[:m] = Hamming distance of rows c0 .. c0+m-1 to query ``qi``."""
    # the first plane assigns, the others add: one pass fewer over the buffer than zeroing
    first = True
    w0 = 0
    if p64.shape[0] >= 2:  # two words in one pass: one trip over the buffer fewer
        row_a = p64[0, c0 : c0 + m]
        row_b = p64[1, c0 : c0 + m]
        qa = q64[0, qi]
        qb = q64[1, qi]
        for j in range(m):
            dist[j] = popcount(row_a[j] ^ qa) + popcount(row_b[j] ^ qb)
        first = False
        w0 = 2
    for w in range(w0, p64.shape[0]):
        row = p64[w, c0 : c0 + m]
        qw = q64[w, qi]
        if first:
            for j in range(m):
                dist[j] = popcount(row[j] ^ qw)
            first = False
        else:
            for j in range(m):
                dist[j] += popcount(row[j] ^ qw)
    for w in range(p32.shape[0]):
        row32 = p32[w, c0 : c0 + m]
        qw32 = q32[w, qi]
        if first:
            for j in range(m):
                dist[j] = popcount(row32[j] ^ qw32)
            first = False
        else:
            for j in range(m):
                dist[j] += popcount(row32[j] ^ qw32)
    for w in range(p16.shape[0]):
        row16 = p16[w, c0 : c0 + m]
        qw16 = q16[w, qi]
        if first:
            for j in range(m):
                dist[j] = popcount(row16[j] ^ qw16)
            first = False
        else:
            for j in range(m):
                dist[j] += popcount(row16[j] ^ qw16)
    for w in range(p8.shape[0]):
        row8 = p8[w, c0 : c0 + m]
        qw8 = q8[w, qi]
        if first:
            for j in range(m):
                dist[j] = popcount(row8[j] ^ qw8)
            first = False
        else:
            for j in range(m):
                dist[j] += popcount(row8[j] ^ qw8)


@njit(cache=True)
def row_distance(p64, p32, p16, p8, row, q64, q32, q16, q8, qi):
    """Hamming distance of one stored row to query ``qi`` (random access, used by MIH)."""
    d = 0
    for w in range(p64.shape[0]):
        d += popcount(p64[w, row] ^ q64[w, qi])
    for w in range(p32.shape[0]):
        d += popcount(p32[w, row] ^ q32[w, qi])
    for w in range(p16.shape[0]):
        d += popcount(p16[w, row] ^ q16[w, qi])
    for w in range(p8.shape[0]):
        d += popcount(p8[w, row] ^ q8[w, qi])
    return d


@njit(cache=True, parallel=True)
def knn_scan(p64, p32, p16, p8, q64, q32, q16, q8, k, bits, qblock, cblock,
             scratch, lane_one, lane_high, lanes, swar_limit):
    """Exact k nearest rows of every query, 1 <= k <= rows. Returns (int32 d, int64 rows).

    A code scanned now ranks after every accepted code at its distance (rows ascend), so it can
    enter the current top k only if fewer than k accepted codes lie at distance <= its own. The
    largest such distance, ``u``, only shrinks; the SWAR filter tests ``<= u``, so the scalar
    path runs about k (1 + ln(n / k)) times per query, not once per tie.
    """
    n = p64.shape[1]
    nq = q64.shape[1]
    out_d = np.empty((nq, k), np.int32)
    out_r = np.empty((nq, k), np.int64)
    # the answer lies within distance u + 1, and fewer than 2k accepted codes do: compaction
    # always frees >= k slots
    cap = min(3 * k, n)
    nblocks = (nq + qblock - 1) // qblock
    cpad = (cblock + lanes - 1) // lanes * lanes
    for b in prange(nblocks):
        q0 = b * qblock
        nb = min(nq, q0 + qblock) - q0
        limit = np.full(nb, bits, np.int64)  # u: accept distances <= u
        within = np.zeros(nb, np.int64)  # accepted codes at distance <= u
        hist = np.zeros((nb, bits + 1), np.int64)
        buf_d = np.empty((nb, cap), np.int32)
        buf_r = np.empty((nb, cap), np.int64)
        nbuf = np.zeros(nb, np.int64)
        dist = np.zeros(cpad, scratch.dtype)
        groups = dist.view(np.uint64)
        for c0 in range(0, n, cblock):
            m = min(n, c0 + cblock) - c0
            ngroups = (m + lanes - 1) // lanes
            for qi in range(nb):
                u = limit[qi]
                if u < 0:
                    continue
                chunk_distances(p64, p32, p16, p8, q64, q32, q16, q8, q0 + qi, c0, m, dist)
                # a last partial group may hold stale lanes: they only cost a needless look,
                # since the exact check stops at m
                for g0 in range(0, ngroups, SWAR_SPAN):
                    g1 = min(ngroups, g0 + SWAR_SPAN)
                    swar = u + 1 <= swar_limit
                    if swar:
                        # one vectorised OR over the span: does any lane hold a value <= u?
                        bound = np.uint64(u + 1) * lane_one
                        acc = np.uint64(0)
                        for g in range(g0, g1):
                            x = groups[g]
                            acc |= (x - bound) & ~x & lane_high
                        if acc == 0:
                            continue
                    for g in range(g0, g1):
                        if swar:
                            x = groups[g]
                            if ((x - np.uint64(u + 1) * lane_one) & ~x & lane_high) == 0:
                                continue
                        for j in range(g * lanes, min(m, g * lanes + lanes)):
                            d = np.int64(dist[j])
                            if d > u:
                                continue
                            p = nbuf[qi]
                            if p == cap:
                                keep = 0
                                for r in range(cap):
                                    if buf_d[qi, r] <= u + 1:
                                        buf_d[qi, keep] = buf_d[qi, r]
                                        buf_r[qi, keep] = buf_r[qi, r]
                                        keep += 1
                                p = keep
                            buf_d[qi, p] = d
                            buf_r[qi, p] = c0 + j
                            nbuf[qi] = p + 1
                            hist[qi, d] += 1
                            within[qi] += 1
                            while within[qi] >= k:
                                within[qi] -= hist[qi, u]
                                u -= 1
                        swar = u + 1 <= swar_limit
                limit[qi] = u
        for qi in range(nb):
            top = limit[qi] + 1  # the answer lies within distance u + 1
            start = np.zeros(bits + 2, np.int64)
            for r in range(nbuf[qi]):
                if buf_d[qi, r] <= top:
                    start[buf_d[qi, r] + 1] += 1
            for d in range(bits + 1):
                start[d + 1] += start[d]
            for r in range(nbuf[qi]):
                d = buf_d[qi, r]
                if d <= top:
                    p = start[d]
                    start[d] += 1
                    if p < k:
                        out_d[q0 + qi, p] = d
                        out_r[q0 + qi, p] = buf_r[qi, r]
    return out_d, out_r


@njit(cache=True, parallel=True)
def range_scan(p64, p32, p16, p8, q64, q32, q16, q8, radius, cap, qblock, cblock,
               scratch, lane_one, lane_high, lanes, swar_limit):
    """Rows within ``radius`` (inclusive) of each query, in row order.

    Returns (counts, d, rows): counts[q] is the full count; the first min(counts[q], cap) hits
    are stored, so a caller reruns the queries whose count exceeds ``cap`` with a bigger one.
    """
    n = p64.shape[1]
    nq = q64.shape[1]
    counts = np.zeros(nq, np.int64)
    out_d = np.empty((nq, cap), np.int32)
    out_r = np.empty((nq, cap), np.int64)
    nblocks = (nq + qblock - 1) // qblock
    cpad = (cblock + lanes - 1) // lanes * lanes
    swar = radius + 1 <= swar_limit
    bound = np.uint64(radius + 1 if swar else 0) * lane_one
    for b in prange(nblocks):
        q0 = b * qblock
        nb = min(nq, q0 + qblock) - q0
        dist = np.zeros(cpad, scratch.dtype)
        groups = dist.view(np.uint64)
        for c0 in range(0, n, cblock):
            m = min(n, c0 + cblock) - c0
            ngroups = (m + lanes - 1) // lanes
            for qi in range(nb):
                qg = q0 + qi
                chunk_distances(p64, p32, p16, p8, q64, q32, q16, q8, qg, c0, m, dist)
                for g0 in range(0, ngroups, SWAR_SPAN):
                    g1 = min(ngroups, g0 + SWAR_SPAN)
                    if swar:
                        acc = np.uint64(0)
                        for g in range(g0, g1):
                            x = groups[g]
                            acc |= (x - bound) & ~x & lane_high
                        if acc == 0:
                            continue
                    for g in range(g0, g1):
                        if swar:
                            x = groups[g]
                            if ((x - bound) & ~x & lane_high) == 0:
                                continue
                        for j in range(g * lanes, min(m, g * lanes + lanes)):
                            d = np.int64(dist[j])
                            if d <= radius:
                                c = counts[qg]
                                if c < cap:
                                    out_d[qg, c] = d
                                    out_r[qg, c] = c0 + j
                                counts[qg] = c + 1
    return counts, out_d, out_r


@njit(cache=True)
def order_hits(counts, hit_d, hit_r, max_d):
    """Per query, hits in row order -> flat arrays in (distance, row) order, with lims."""
    nq = counts.shape[0]
    lims = np.zeros(nq + 1, np.int64)
    for q in range(nq):
        lims[q + 1] = lims[q] + counts[q]
    out_d = np.empty(lims[nq], np.int32)
    out_r = np.empty(lims[nq], np.int64)
    start = np.empty(max_d + 2, np.int64)
    for q in range(nq):
        start[:] = 0
        for i in range(counts[q]):
            start[hit_d[q, i] + 1] += 1
        start[0] = lims[q]
        for d in range(max_d + 1):
            start[d + 1] += start[d]
        for i in range(counts[q]):
            d = hit_d[q, i]
            out_d[start[d]] = d
            out_r[start[d]] = hit_r[q, i]
            start[d] += 1
    return lims, out_d, out_r


@njit(cache=True)
def merge_answers(lims, d, rows, redo, lims2, d2, rows2):
    """Replace the answers of queries ``redo`` (ascending) with a second answer set."""
    nq = lims.shape[0] - 1
    sizes = lims[1:] - lims[:-1]
    for i in range(redo.shape[0]):
        sizes[redo[i]] = lims2[i + 1] - lims2[i]
    out_lims = np.zeros(nq + 1, np.int64)
    for q in range(nq):
        out_lims[q + 1] = out_lims[q] + sizes[q]
    out_d = np.empty(out_lims[nq], np.int32)
    out_r = np.empty(out_lims[nq], np.int64)
    j = 0
    for q in range(nq):
        if j < redo.shape[0] and redo[j] == q:
            src_d, src_r, lo = d2, rows2, lims2[j]
            j += 1
        else:
            src_d, src_r, lo = d, rows, lims[q]
        for i in range(sizes[q]):
            out_d[out_lims[q] + i] = src_d[lo + i]
            out_r[out_lims[q] + i] = src_r[lo + i]
    return out_lims, out_d, out_r
