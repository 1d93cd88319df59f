"""mAP speed and exactness: dshgan.metrics (numba counting-sort kernels) against a numpy reference.

The reference is what one writes with numpy alone: Hamming distances by XOR + popcount of the
packed codes, ``np.argsort(kind="stable")`` per query, then AP vectorised over the ranking (and the
tie-aware AP of McSherry & Najork summed position by position over that ranking). Both run in the
same process on the same codes; every per-query AP must agree to 1e-9.

    python benchmarks/bench_metrics.py            # CIFAR-10 protocol: 1,000 x 54,000, NUS-WIDE scale
    python benchmarks/bench_metrics.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse
import platform
import time

import numba
import numpy as np

from dshgan.metrics import average_precisions

TOL = 1e-9


# ---------------------------------------------------------------- numpy reference
def _numpy_distances(qp: np.ndarray, dp: np.ndarray) -> np.ndarray:
    return np.bitwise_count(qp[:, None, :] ^ dp[None, :, :]).sum(axis=2)  # uint64


def _numpy_relevance(ql: np.ndarray, dl: np.ndarray) -> np.ndarray:
    if ql.ndim == 1:
        return ql[:, None] == dl[None, :]
    return (ql.astype(np.float32) @ dl.T.astype(np.float32)) > 0


def numpy_average_precisions(q, ql, db, dl, topk=None, tie_aware=False, chunk=32) -> np.ndarray:
    """Per-query AP@topk by numpy distances + stable argsort (tie_aware: whole database only)."""
    if tie_aware and topk is not None:
        raise ValueError("the numpy tie-aware reference covers the whole database only")
    qp, dp = np.packbits(q, axis=1), np.packbits(db, axis=1)
    n, bits = db.shape[0], db.shape[1]
    cut = n if topk is None else min(topk, n)
    pos = np.arange(1, cut + 1, dtype=np.float64)
    out = np.empty(len(q))
    for a in range(0, len(q), chunk):
        dist = _numpy_distances(qp[a:a + chunk], dp)
        rel = _numpy_relevance(ql[a:a + chunk], dl)
        order = np.argsort(dist, axis=1, kind="stable")
        ranked = np.take_along_axis(rel, order, axis=1)[:, :cut]
        if not tie_aware:
            hits = np.cumsum(ranked, axis=1)
            k = hits[:, -1]
            total = (ranked * hits / pos).sum(axis=1)
            out[a:a + chunk] = np.where(k > 0, total / np.maximum(k, 1), 0.0)
            continue
        # McSherry & Najork: position p of a tie group (size m, r relevant, s items and rb
        # relevant ranked before) adds [r/m (rb + 1) + (p - 1) r (r - 1) / (m (m - 1))] / (s + p)
        rows = len(dist)
        flat = (dist + (np.arange(rows)[:, None] * (bits + 1))).ravel().astype(np.int64)
        m = np.bincount(flat, minlength=rows * (bits + 1)).reshape(rows, -1).astype(np.float64)
        r = np.bincount(flat, weights=rel.ravel(), minlength=rows * (bits + 1)).reshape(rows, -1)
        s = np.cumsum(m, axis=1) - m
        rb = np.cumsum(r, axis=1) - r
        g = np.take_along_axis(dist, order, axis=1).astype(np.int64)
        mg, rg = np.take_along_axis(m, g, 1), np.take_along_axis(r, g, 1)
        sg, rbg = np.take_along_axis(s, g, 1), np.take_along_axis(rb, g, 1)
        p = pos - sg
        pair = np.divide(rg * (rg - 1), mg * (mg - 1), out=np.zeros_like(mg), where=mg > 1)
        contrib = (rg / mg * (rbg + 1) + (p - 1) * pair) / pos
        k = r.sum(axis=1)
        out[a:a + chunk] = np.where(k > 0, contrib.sum(axis=1) / np.maximum(k, 1), 0.0)
    return out


# ---------------------------------------------------------------- data
def clustered_codes(rng, labels: np.ndarray, centres: np.ndarray, flip: float) -> np.ndarray:
    """Codes of a trained hash: the class centre's bits, each flipped with probability ``flip``."""
    noise = rng.random((len(labels), centres.shape[1])) < flip
    return (centres[labels] ^ noise).astype(np.uint8)


def cifar_like(rng, bits: int, nq: int, n: int, uniform: bool):
    ql = np.repeat(np.arange(10), nq // 10)
    dl = rng.integers(0, 10, n)
    if uniform:
        return (rng.integers(0, 2, (len(ql), bits), dtype=np.uint8), ql,
                rng.integers(0, 2, (n, bits), dtype=np.uint8), dl)
    centres = rng.integers(0, 2, (10, bits), dtype=np.uint8)
    return clustered_codes(rng, ql, centres, 0.15), ql, clustered_codes(rng, dl, centres, 0.15), dl


def nuswide_like(rng, bits: int, nq: int, n: int, labels: int = 21):
    """Multi-hot rows with 1-3 concepts; codes clustered on the first concept."""
    def draw(size):
        hot = np.zeros((size, labels), np.uint8)
        first = rng.integers(0, labels, size)
        hot[np.arange(size), first] = 1
        for _ in range(2):
            extra = rng.integers(0, labels, size)
            hot[np.arange(size), extra] |= (rng.random(size) < 0.4).astype(np.uint8)
        return hot, first
    centres = rng.integers(0, 2, (labels, bits), dtype=np.uint8)
    ql, qf = draw(nq)
    dl, df = draw(n)
    return clustered_codes(rng, qf, centres, 0.15), ql, clustered_codes(rng, df, centres, 0.15), dl


# ---------------------------------------------------------------- timing
def best_of(repeats: int, fn, *args, **kwargs):
    best, value = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    return best, value


def ours_timed(args, kwargs, threads: int, repeats: int):
    numba.set_num_threads(threads)
    try:
        return best_of(repeats, average_precisions, *args, **kwargs)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    ap.add_argument("--repeats", type=int, default=3, help="best-of repeats for ours")
    ap.add_argument("--seed", type=int, default=0)
    opt = ap.parse_args()
    rng = np.random.default_rng(opt.seed)
    nq, n = (200, 10_000) if opt.quick else (1_000, 54_000)
    nus_q, nus_n = (210, 19_000) if opt.quick else (2_100, 190_000)
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"# {platform.processor() or platform.machine()}, numba threads {threads}, "
          f"numpy {np.__version__}, numba {numba.__version__}")

    # compile outside the timings
    warm = cifar_like(rng, 12, 20, 500, False)
    for tie in (False, True):
        average_precisions(*warm, tie_aware=tie)
        average_precisions(*warm, topk=50, tie_aware=tie)
    warm_ml = nuswide_like(rng, 12, 20, 500)
    average_precisions(*warm_ml, topk=50)
    average_precisions(*warm_ml, topk=50, tie_aware=True)

    print(f"\nmAP over the whole database, {nq} queries x {n:,} codes, 10 classes")
    print("| bits | codes | AP | numpy ref (s) | ours 1 thread (s) | ours "
          f"{threads} threads (s) | speed-up 1 thread | speed-up {threads} threads | "
          "max abs diff |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    cases = [(b, False) for b in (12, 24, 32, 48, 64)] + [(12, True), (64, True)]
    for bits, uniform in cases:
        data = cifar_like(rng, bits, nq, n, uniform)
        for tie in (False, True):
            t_ref, ref = best_of(1, numpy_average_precisions, *data, tie_aware=tie)
            t1, ours1 = ours_timed(data, {"tie_aware": tie}, 1, opt.repeats)
            tn, ours = ours_timed(data, {"tie_aware": tie}, threads, opt.repeats)
            diff = max(np.abs(ours - ref).max(), np.abs(ours1 - ref).max())
            assert diff <= TOL, f"{bits} bits tie_aware={tie}: values differ by {diff}"
            print(f"| {bits} | {'uniform' if uniform else 'clustered'} | "
                  f"{'tie-aware' if tie else 'stable'} {ours.mean():.4f} | {t_ref:.2f} | "
                  f"{t1:.3f} | {tn:.3f} | {t_ref / t1:.0f}x | {t_ref / tn:.0f}x | {diff:.1e} |")

    print(f"\nmulti-label mAP@5000, {nus_q:,} queries x {nus_n:,} codes, 21 concepts")
    print("| bits | AP | mAP@5000 | ours 1 thread (s) | ours "
          f"{threads} threads (s) | numpy ref, first 100 queries (s) | max abs diff |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for bits in (32, 64):
        data = nuswide_like(rng, bits, nus_q, nus_n)
        for tie in (False, True):
            kw = {"topk": 5000, "tie_aware": tie}
            t1, _ = ours_timed(data, kw, 1, 1)
            tn, ours = ours_timed(data, kw, threads, opt.repeats)
            if tie:
                ref_cell, diff_cell = "n/a", "(tests: exact enumeration)"
            else:
                sub = (data[0][:100], data[1][:100], data[2], data[3])
                t_ref, ref = best_of(1, numpy_average_precisions, *sub, topk=5000)
                diff = np.abs(ours[:100] - ref).max()
                assert diff <= TOL, f"NUS-WIDE scale {bits} bits: values differ by {diff}"
                ref_cell, diff_cell = f"{t_ref:.2f}", f"{diff:.1e}"
            print(f"| {bits} | {'tie-aware' if tie else 'stable'} | {ours.mean():.4f} | "
                  f"{t1:.2f} | {tn:.2f} | {ref_cell} | {diff_cell} |")


if __name__ == "__main__":
    main()
