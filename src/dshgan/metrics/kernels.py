"""Numba kernels behind the retrieval metrics.

Nothing here sorts. Hamming distances are bounded by the bit count, so one pass over the database
builds a histogram of distances (a counting sort); a stable ranking places an item at position
``start[d] + (its rank among the items at distance d, in database order)``, which a second pass
recovers without moving anything. Relevance is tested lazily, only for items that fall inside the
cut-off. Every kernel runs one query per iteration of a ``prange`` over chunks of queries.

Inputs are prepared by :mod:`dshgan.metrics.inputs`: codes as packed uint64 words, labels as int64
rows (one class id per row, or multi-hot bitsets packed into words when ``multi`` is true).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

_CHUNK = 16  # queries per parallel task: enough tasks to balance two to sixteen threads


@intrinsic
def _ctpop(typingctx, x):
    """LLVM's population count; compiles to one POPCNT instruction on x86-64."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, args)

    return sig, codegen


@njit(cache=True, inline="always")
def _hamming(q, db, i, j):
    if q.shape[1] == 1:
        return np.int64(_ctpop(q[i, 0] ^ db[j, 0]))
    d = np.int64(0)
    for w in range(q.shape[1]):
        d += np.int64(_ctpop(q[i, w] ^ db[j, w]))
    return d


@njit(cache=True, inline="always")
def _relevant(ql, dl, i, j, multi):
    if not multi:
        return ql[i, 0] == dl[j, 0]
    for w in range(ql.shape[1]):
        if (ql[i, w] & dl[j, w]) != 0:
            return True
    return False


@njit(cache=True)
def popcount64(x):
    """Population count of a uint64 (exposed for tests)."""
    return _ctpop(x)


@njit(cache=True)
def harmonic_table(n):
    """H[k] = sum_{i=1..k} 1/i for k = 0..n, Kahan-summed so that differences stay accurate."""
    h = np.zeros(n + 1)
    s = 0.0
    c = 0.0
    for k in range(1, n + 1):
        y = 1.0 / k - c
        t = s + y
        c = (t - s) - y
        s = t
        h[k] = s
    return h


@njit(cache=True)
def _split_point(hist, cutoff):
    """(group h, items taken from it t, items before it S) for the first ``cutoff`` ranks."""
    s = np.int64(0)
    for d in range(hist.shape[0]):
        c = hist[d]
        if s + c >= cutoff:
            return d, cutoff - s, s
        s += c
    return hist.shape[0] - 1, hist[hist.shape[0] - 1], s - hist[hist.shape[0] - 1]


@njit(cache=True)
def _ap_one(q, db, ql, dl, multi, cutoff, i, dist, hist, start, fill, rc, inv, wsum):
    n = db.shape[0]
    hist[:] = 0
    for j in range(n):
        d = _hamming(q, db, i, j)
        dist[j] = d
        hist[d] += 1
    h, t, _ = _split_point(hist, cutoff)
    s = np.int64(0)
    for d in range(h + 1):
        start[d] = s
        s += hist[d]
        fill[d] = 0
        rc[d] = 0
        inv[d] = 0.0
        wsum[d] = 0.0
    done = np.int64(0)
    for j in range(n):
        d = dist[j]
        if d > h or (d == h and fill[d] >= t):
            continue
        fill[d] += 1
        done += 1
        if _relevant(ql, dl, i, j, multi):
            rc[d] += 1
            pos = start[d] + fill[d]
            inv[d] += 1.0 / pos
            wsum[d] += rc[d] / pos
        if done == cutoff:
            break
    # sum over relevant items of (relevant before the group + rank among relevant in group) / pos
    num = 0.0
    before = np.int64(0)
    for d in range(h + 1):
        num += before * inv[d] + wsum[d]
        before += rc[d]
    if before == 0:
        return 0.0
    return num / before


@njit(parallel=True, cache=True)
def average_precision_stable(q, db, ql, dl, multi, cutoff, bits):
    """Per-query AP@cutoff under the stable ranking (distance, then database order)."""
    nq = q.shape[0]
    n = db.shape[0]
    out = np.zeros(nq)
    nchunks = (nq + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        dist = np.empty(n, np.int32)
        hist = np.empty(bits + 1, np.int64)
        start = np.empty(bits + 1, np.int64)
        fill = np.empty(bits + 1, np.int64)
        rc = np.empty(bits + 1, np.int64)
        inv = np.empty(bits + 1)
        wsum = np.empty(bits + 1)
        for i in range(c * _CHUNK, min(nq, (c + 1) * _CHUNK)):
            out[i] = _ap_one(q, db, ql, dl, multi, cutoff, i, dist, hist, start, fill, rc, inv,
                             wsum)
    return out


@njit(parallel=True, cache=True)
def distance_histograms(q, db, ql, dl, multi, bits):
    """(hist, relevant_hist), both (nq, bits + 1): items and relevant items at each distance."""
    nq = q.shape[0]
    n = db.shape[0]
    hist = np.zeros((nq, bits + 1), np.int64)
    rel = np.zeros((nq, bits + 1), np.int64)
    nchunks = (nq + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        for i in range(c * _CHUNK, min(nq, (c + 1) * _CHUNK)):
            for j in range(n):
                d = _hamming(q, db, i, j)
                hist[i, d] += 1
                if _relevant(ql, dl, i, j, multi):
                    rel[i, d] += 1
    return hist, rel


@njit(cache=True)
def _group_sum(s, rb, t, x, h):
    """Expected sum of precision@pos over the relevant items among the first t positions of a tie
    group, given x relevant ones among those t placed uniformly at random, s items and rb relevant
    items ranked before the group (McSherry & Najork 2008, eq. for AP, in closed form)."""
    if x == 0:
        return 0.0
    dh = h[s + t] - h[s]  # sum_{p=1..t} 1 / (s + p)
    val = x * (rb + 1.0) / t * dh
    if x > 1:
        # sum_{p=1..t} (p - 1) / (s + p) = t - (s + 1) * dh
        val += x * (x - 1.0) / (t * (t - 1.0)) * (t - (s + 1.0) * dh)
    return val


@njit(cache=True)
def _tie_aware_one(hist, rel, cutoff, h):
    s = np.int64(0)
    rb = np.int64(0)
    ea = 0.0
    for d in range(hist.shape[0]):
        c = hist[d]
        r = rel[d]
        if c == 0:
            continue
        if s + c <= cutoff:
            ea += _group_sum(s, rb, c, r, h)
            s += c
            rb += r
            if s == cutoff:
                break
            continue
        # the cut-off splits this group: X ~ Hypergeometric(c, r, t) relevant items make it in,
        # and AP = (A + Y) / (rb + X) with A (earlier groups) independent of (X, Y)
        t = cutoff - s
        lo = max(0, t - (c - r))
        hi = min(r, t)
        mode = min(max((t + 1) * (r + 1) // (c + 2), lo), hi)
        sw = 0.0
        s_inv = 0.0
        s_y = 0.0
        w = 1.0  # unnormalised pmf, 1 at the mode so that nothing overflows
        x = mode
        while True:
            k = rb + x
            sw += w
            if k > 0:
                s_inv += w / k
                s_y += w * _group_sum(s, rb, t, x, h) / k
            if x == hi:
                break
            w *= (r - x) * (t - x) / ((x + 1.0) * (c - r - t + x + 1.0))
            x += 1
            if w == 0.0:
                break
        w = 1.0
        x = mode
        while x > lo:
            w *= x * (c - r - t + x) / ((r - x + 1.0) * (t - x + 1.0))
            x -= 1
            if w == 0.0:
                break
            k = rb + x
            sw += w
            if k > 0:
                s_inv += w / k
                s_y += w * _group_sum(s, rb, t, x, h) / k
        return (ea * s_inv + s_y) / sw
    if rb == 0:
        return 0.0
    return ea / rb


@njit(parallel=True, cache=True)
def average_precision_tie_aware(hist, rel, cutoff, h):
    """Per-query expected AP@cutoff over uniformly random orders within tied distances."""
    nq = hist.shape[0]
    out = np.zeros(nq)
    for i in prange(nq):
        out[i] = _tie_aware_one(hist[i], rel[i], cutoff, h)
    return out


@njit(cache=True)
def _prefix_one(q, db, ql, dl, multi, ns, i, dist, hist, hk, tk, first, last, ptr, fill, rc, got):
    n = db.shape[0]
    nb = hist.shape[0]
    hist[:] = 0
    for j in range(n):
        d = _hamming(q, db, i, j)
        dist[j] = d
        hist[d] += 1
    for d in range(nb):
        first[d] = 0
        last[d] = 0
        fill[d] = 0
        rc[d] = 0
    for k in range(ns.shape[0]):
        hh, tt, _ = _split_point(hist, ns[k])
        hk[k] = hh
        tk[k] = tt
    # ns is sorted, so the cut-offs falling in one group are contiguous and ordered by tk
    for k in range(ns.shape[0] - 1, -1, -1):
        first[hk[k]] = k
    for k in range(ns.shape[0]):
        last[hk[k]] = k + 1
    for d in range(nb):
        ptr[d] = first[d]
    hmax = hk[ns.shape[0] - 1]
    for j in range(n):
        d = dist[j]
        if d > hmax:
            continue
        fill[d] += 1
        if _relevant(ql, dl, i, j, multi):
            rc[d] += 1
        while ptr[d] < last[d] and tk[ptr[d]] == fill[d]:
            got[ptr[d]] = rc[d]
            ptr[d] += 1
    counts = np.empty(ns.shape[0], np.int64)
    before = np.int64(0)
    k = 0
    for d in range(hmax + 1):
        while k < ns.shape[0] and hk[k] == d:
            counts[k] = before + got[k]
            k += 1
        before += rc[d]
    return counts


@njit(parallel=True, cache=True)
def relevant_in_prefix(q, db, ql, dl, multi, ns, bits):
    """(nq, len(ns)) relevant items among the first ns[k] of the stable ranking; ns sorted,
    unique, each in 1..len(db)."""
    nq = q.shape[0]
    n = db.shape[0]
    m = ns.shape[0]
    out = np.zeros((nq, m), np.int64)
    nchunks = (nq + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        dist = np.empty(n, np.int32)
        hist = np.empty(bits + 1, np.int64)
        hk = np.empty(m, np.int64)
        tk = np.empty(m, np.int64)
        got = np.zeros(m, np.int64)
        first = np.empty(bits + 1, np.int64)
        last = np.empty(bits + 1, np.int64)
        ptr = np.empty(bits + 1, np.int64)
        fill = np.empty(bits + 1, np.int64)
        rc = np.empty(bits + 1, np.int64)
        for i in range(c * _CHUNK, min(nq, (c + 1) * _CHUNK)):
            out[i] = _prefix_one(q, db, ql, dl, multi, ns, i, dist, hist, hk, tk, first, last,
                                 ptr, fill, rc, got)
    return out
