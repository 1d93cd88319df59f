"""Numba kernels behind the retrieval metrics.

Nothing here calls a comparison sort. Hamming distances are bounded by the bit count, so one pass
over the database builds a histogram of distances and a second pass places every item at its
stable rank (a counting sort, which keeps database order within a tie); AP and precision@n then
read the 0/1 relevance of the ranking left to right. Metrics that ignore the order within ties
(tie-aware AP, Hamming-ball precision and recall) need only the per-distance counts of items and
relevant items. Every kernel runs queries in parallel (``prange`` over chunks of queries).

Inputs are prepared by :mod:`dshgan.metrics.inputs`: codes as packed uint64 words, labels as int64
rows (one class id per row, or multi-hot bitsets packed into words when ``multi`` is true).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

_CHUNK = 16  # queries per parallel task: enough tasks to balance two to sixteen threads
_STREAMS = 4  # interleaved database blocks per histogram pass (see _distances)


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
def _relevant01(ql, dl, i, j, multi):
    """1 if database item j is relevant to query i, else 0 (branch-free)."""
    if not multi:
        return np.uint32(ql[i, 0] == dl[j, 0])
    acc = np.int64(0)
    for w in range(ql.shape[1]):
        acc |= ql[i, w] & dl[j, w]
    return np.uint32(acc != 0)


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
def _distances(q, db, ql, dl, multi, i, key, sh):
    """key[j] = distance << 1 | relevant; sh[u, d] = items at distance d in stream u."""
    n = db.shape[0]
    blk = n // _STREAMS
    sh[:, :] = 0
    # the database is cut into _STREAMS contiguous blocks walked side by side: their histogram
    # increments are independent, which hides the store-to-load latency of a single histogram
    for s in range(blk):
        for u in range(_STREAMS):
            j = u * blk + s
            d = _hamming(q, db, i, j)
            key[j] = (d << 1) | _relevant01(ql, dl, i, j, multi)
            sh[u, d] += 1
    for j in range(_STREAMS * blk, n):
        d = _hamming(q, db, i, j)
        key[j] = (d << 1) | _relevant01(ql, dl, i, j, multi)
        sh[_STREAMS - 1, d] += 1


@njit(cache=True)
def _stable_rank(key, sh, ranked):
    """Counting sort: ranked[p] = relevance of the item at rank p (distance, then database
    order). Consumes sh (becomes the next free slots). Placing every item, even beyond a cut-off,
    costs less than the mispredicted branch that would skip them."""
    n = key.shape[0]
    pos = np.int64(0)
    for d in range(sh.shape[1]):
        for u in range(_STREAMS):  # stream u holds later database items than stream u - 1
            c = sh[u, d]
            sh[u, d] = pos
            pos += c
    blk = n // _STREAMS
    for s in range(blk):
        for u in range(_STREAMS):
            j = u * blk + s
            k = key[j]
            p = sh[u, k >> 1]
            sh[u, k >> 1] = p + 1
            ranked[p] = k & 1
    for j in range(_STREAMS * blk, n):
        k = key[j]
        p = sh[_STREAMS - 1, k >> 1]
        sh[_STREAMS - 1, k >> 1] = p + 1
        ranked[p] = k & 1


@njit(cache=True)
def _ap_of_ranking(ranked, cutoff, recip):
    """AP@cutoff of a 0/1 relevance ranking; recip[k] = 1 / (k + 1)."""
    c = np.int64(0)
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    m = cutoff // 4
    for b in range(m):  # four partial sums keep the FP adds off one dependency chain
        k = 4 * b
        r = ranked[k]
        c += r
        s0 += r * c * recip[k]
        r = ranked[k + 1]
        c += r
        s1 += r * c * recip[k + 1]
        r = ranked[k + 2]
        c += r
        s2 += r * c * recip[k + 2]
        r = ranked[k + 3]
        c += r
        s3 += r * c * recip[k + 3]
    for k in range(4 * m, cutoff):
        r = ranked[k]
        c += r
        s0 += r * c * recip[k]
    if c == 0:
        return 0.0
    return ((s0 + s1) + (s2 + s3)) / c


@njit(parallel=True, cache=True)
def average_precision_stable(q, db, ql, dl, multi, cutoff, bits):
    """Per-query AP@cutoff under the stable ranking (distance, then database order)."""
    nq = q.shape[0]
    n = db.shape[0]
    out = np.zeros(nq)
    recip = 1.0 / np.arange(1, n + 1)
    nchunks = (nq + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        key = np.empty(n, np.uint32)
        ranked = np.empty(n, np.uint8)
        sh = np.empty((_STREAMS, bits + 1), np.int64)
        for i in range(c * _CHUNK, min(nq, (c + 1) * _CHUNK)):
            _distances(q, db, ql, dl, multi, i, key, sh)
            _stable_rank(key, sh, ranked)
            out[i] = _ap_of_ranking(ranked, cutoff, recip)
    return out


@njit(cache=True)
def _histograms_one(q, db, ql, dl, multi, i, sh, sr, hist, rel):
    n = db.shape[0]
    blk = n // _STREAMS
    sh[:, :] = 0
    sr[:, :] = 0
    for s in range(blk):
        for u in range(_STREAMS):
            j = u * blk + s
            d = _hamming(q, db, i, j)
            sh[u, d] += 1
            sr[u, d] += _relevant01(ql, dl, i, j, multi)
    for j in range(_STREAMS * blk, n):
        d = _hamming(q, db, i, j)
        sh[_STREAMS - 1, d] += 1
        sr[_STREAMS - 1, d] += _relevant01(ql, dl, i, j, multi)
    for d in range(sh.shape[1]):
        a = np.int64(0)
        b = np.int64(0)
        for u in range(_STREAMS):
            a += sh[u, d]
            b += sr[u, d]
        hist[d] = a
        rel[d] = b


@njit(parallel=True, cache=True)
def distance_histograms(q, db, ql, dl, multi, bits):
    """(hist, relevant_hist), both (nq, bits + 1): items and relevant items at each distance."""
    nq = q.shape[0]
    hist = np.zeros((nq, bits + 1), np.int64)
    rel = np.zeros((nq, bits + 1), np.int64)
    nchunks = (nq + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        sh = np.empty((_STREAMS, bits + 1), np.int64)
        sr = np.empty((_STREAMS, bits + 1), np.int64)
        for i in range(c * _CHUNK, min(nq, (c + 1) * _CHUNK)):
            _histograms_one(q, db, ql, dl, multi, i, sh, sr, hist[i], rel[i])
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
        key = np.empty(n, np.uint32)
        ranked = np.empty(n, np.uint8)
        sh = np.empty((_STREAMS, bits + 1), np.int64)
        for i in range(c * _CHUNK, min(nq, (c + 1) * _CHUNK)):
            _distances(q, db, ql, dl, multi, i, key, sh)
            _stable_rank(key, sh, ranked)
            hits = np.int64(0)
            k = 0
            for p in range(ns[m - 1]):
                hits += ranked[p]
                if p + 1 == ns[k]:
                    out[i, k] = hits
                    k += 1
    return out
