"""Benchmark dshgan.index against faiss IndexBinaryFlat and a naive numpy scan, in one run.

    python benchmarks/bench_index.py            # full: 1M codes, 1,000 queries (a few minutes)
    python benchmarks/bench_index.py --quick    # smoke run: 100k codes, 200 queries

Prints markdown tables: exact 100-NN queries/s at 32, 48, 64, 128 bits with 1 and 2 threads
(ours, faiss, naive numpy, ratios, and whether our distances and ids equal faiss's); radius
<= 2 search over clustered codes, exact scan versus multi-index hashing; k-NN by MIH on the
same clustered codes; and memory per index. Every ratio compares timings taken in this run,
best of ``--repeat`` runs each.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from functools import partial

import numba
import numpy as np
from machine_info import cpu_model
from timing import best_time

from dshgan.index import HammingIndex

faiss = None  # imported in main(), after the OpenMP wait policy is settled


def machine() -> str:
    model = cpu_model()
    versions = f"numpy {np.__version__}, numba {numba.__version__}"
    if faiss is not None:
        versions += f", faiss {faiss.__version__}"
    return f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, {versions}"


def emit(line: str = "") -> None:
    print(line, flush=True)


def set_threads(n: int) -> None:
    numba.set_num_threads(n)
    if faiss is not None:
        faiss.omp_set_num_threads(n)


def naive_numpy_knn(db: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """What one writes without an index: XOR, popcount, partial sort, per query."""
    out = np.empty((len(queries), k), np.int64)
    for i, q in enumerate(queries):
        d = np.bitwise_count(db ^ q).sum(axis=1, dtype=np.int32)
        top = np.argpartition(d, k - 1)[:k]
        out[i] = top[np.lexsort((top, d[top]))]
    return out


def uniform_packed(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    packed = rng.integers(0, 256, (n, (bits + 7) // 8), dtype=np.uint8)
    if bits % 8:
        packed[:, -1] &= np.uint8((0xFF << (8 - bits % 8)) & 0xFF)
    return packed


def clustered_packed(rng: np.random.Generator, n: int, bits: int, centres: np.ndarray,
                     flip: float) -> np.ndarray:
    labels = rng.integers(0, len(centres), n)
    codes = centres[labels] ^ (rng.random((n, bits)) < flip).astype(np.uint8)
    return np.packbits(codes, axis=1)


def bench_knn(args, rng) -> None:
    emit("| bits | threads | ours q/s | faiss q/s | naive numpy q/s | ours / faiss | "
         "ours / numpy | equal to faiss |")
    emit("|---|---|---|---|---|---|---|---|")
    for bits in args.bits:
        db = uniform_packed(rng, args.n, bits)
        queries = uniform_packed(rng, args.queries, bits)
        index = HammingIndex(bits)
        index.add(db, packed=True)
        fi = None
        if faiss is not None:
            fi = faiss.IndexBinaryFlat(8 * db.shape[1])
            fi.add(db)
        naive_q = queries[: args.naive_queries]
        for threads in args.threads:
            set_threads(threads)
            index.search(queries[:4], args.k, packed=True)  # compiled and cached once
            ours = best_time(partial(index.search, queries, args.k, packed=True), args.repeat)
            d, i = index.search(queries, args.k, packed=True)
            theirs, equal = float("nan"), "n/a"
            if fi is not None:
                theirs = best_time(partial(fi.search, queries, args.k), args.repeat)
                fd, fi_ids = fi.search(queries, args.k)
                equal = f"d {(fd == d).all()}, ids {(fi_ids == i).all()}"
            naive = best_time(partial(naive_numpy_knn, db, naive_q, args.k), 1)
            qps = args.queries / ours
            fq = args.queries / theirs
            nqps = len(naive_q) / naive
            emit(f"| {bits} | {threads} | {qps:,.0f} | {fq:,.0f} | {nqps:,.0f} | "
                 f"{qps / fq:.2f}x | {qps / nqps:.0f}x | {equal} |")


def bench_radius(args, rng) -> None:
    bits = 64
    centres = rng.integers(0, 2, (args.centres, bits), dtype=np.uint8)
    db = clustered_packed(rng, args.n, bits, centres, args.flip)
    queries = clustered_packed(rng, args.queries, bits, centres, args.flip)
    flat = HammingIndex(bits)
    flat.add(db, packed=True)
    emit(f"Clustered codes: {args.centres} centres, bits flipped with p = {args.flip}.\n")
    emit("| search | threads | exact scan q/s | MIH q/s | MIH / scan | same results | "
         "hits per query |")
    emit("|---|---|---|---|---|---|---|")
    mihs = {}
    for m in args.substrings:
        mih = HammingIndex(bits, multi_index=m)
        mih.add(db, packed=True)
        start = time.perf_counter()
        mih.range_search(queries[:2], args.radius, packed=True)  # builds the tables
        mihs[m] = (mih, time.perf_counter() - start)
    for threads in args.threads:
        set_threads(threads)
        flat.range_search(queries[:4], args.radius, packed=True)
        scan = best_time(lambda: flat.range_search(queries, args.radius, packed=True),
                         args.repeat)
        want = flat.range_search(queries, args.radius, packed=True)
        for m, (mih, _) in mihs.items():
            fast = best_time(lambda mih=mih: mih.range_search(queries, args.radius, packed=True),
                             args.repeat)
            got = mih.range_search(queries, args.radius, packed=True)
            same = all((a == b).all() for a, b in zip(got, want))
            emit(f"| radius <= {args.radius}, mih:{m} | {threads} | "
                 f"{args.queries / scan:,.0f} | {args.queries / fast:,.0f} | "
                 f"{scan / fast:.1f}x | {same} | {len(want[2]) / args.queries:,.0f} |")
        flat.search(queries[:4], args.k, packed=True)
        scan = best_time(lambda: flat.search(queries, args.k, packed=True), args.repeat)
        want = flat.search(queries, args.k, packed=True)
        for m, (mih, _) in mihs.items():
            fast = best_time(lambda mih=mih: mih.search(queries, args.k, packed=True),
                             args.repeat)
            got = mih.search(queries, args.k, packed=True)
            same = all((a == b).all() for a, b in zip(got, want))
            emit(f"| {args.k}-NN, mih:{m} | {threads} | {args.queries / scan:,.0f} | "
                 f"{args.queries / fast:,.0f} | {scan / fast:.1f}x | {same} | - |")
    if faiss is not None:  # faiss's range search is strict: radius + 1 is our inclusive radius
        fi = faiss.IndexBinaryFlat(bits)
        fi.add(db)
        lims, d, i = fi.range_search(queries, args.radius + 1)
        lims = lims.astype(np.int64)
        query = np.repeat(np.arange(args.queries), np.diff(lims))
        order = np.lexsort((i, d, query))
        want = flat.range_search(queries, args.radius, packed=True)
        same = (np.array_equal(lims, want[0]) and np.array_equal(d[order], want[1])
                and np.array_equal(i[order], want[2]))
        note = f"faiss range_search(radius + 1), sorted by (distance, id), equals ours: {same}."
        emit(f"\n{note}")
    builds = ", ".join(f"mih:{m} {t:.2f} s" for m, (_, t) in mihs.items())
    emit(f"\nMIH table build (once per change of the codes): {builds}.")


def bench_memory(args, rng) -> None:
    emit("| index | bits | codes | bytes held | packed codes + 8 B/id | bound 1.2 x packed "
         "+ 8 B/id | within bound |")
    emit("|---|---|---|---|---|---|---|")
    for bits in args.bits:
        index = HammingIndex(bits)
        index.add(uniform_packed(rng, args.n, bits), packed=True)
        packed = args.n * ((bits + 7) // 8)
        bound = 1.2 * packed + 8 * args.n
        emit(f"| flat | {bits} | {args.n:,} | {index.nbytes:,} | "
             f"{packed + 8 * args.n:,} | {bound:,.0f} | {index.nbytes <= bound} |")
    for m in args.substrings:
        index = HammingIndex(64, multi_index=m)
        index.add(uniform_packed(rng, args.n, 64), packed=True)
        index.search(uniform_packed(rng, 1, 64), 1, packed=True)  # builds the tables
        packed = args.n * 8
        bound = 1.2 * packed + 8 * args.n
        emit(f"| mih:{m} | 64 | {args.n:,} | {index.nbytes:,} | {packed + 8 * args.n:,} "
             f"| {bound:,.0f} | {index.nbytes <= bound} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k codes, 200 queries")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--naive-queries", type=int, default=20)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--bits", type=int, nargs="+", default=[32, 48, 64, 128])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--radius", type=int, default=2)
    parser.add_argument("--substrings", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--centres", type=int, default=100)
    parser.add_argument("--flip", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # Waiting OpenMP threads spin by default. On a machine shared with other processes a
    # spinning thread steals the core its partner needs, and faiss with 2 threads fell to a
    # tenth of its 1-thread speed. PASSIVE (sleep while waiting) is set before numba and faiss
    # start OpenMP, for both; export OMP_WAIT_POLICY=ACTIVE to measure the spinning default.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    global faiss
    try:
        import faiss
    except ImportError:  # the comparison needs it; the rest of the benchmark does not
        faiss = None
    if args.quick:
        args.n, args.queries, args.naive_queries, args.repeat = 100_000, 200, 10, 2
    args.threads = [t for t in args.threads if t <= numba.config.NUMBA_NUM_THREADS]
    rng = np.random.default_rng(args.seed)

    print(f"# dshgan.index benchmark\n\n{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
          f"; {machine()}\n\n`{' '.join(['python', *sys.argv])}`: {args.n:,} codes, "
          f"{args.queries:,} queries, k = {args.k}, best of {args.repeat}, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, load average before the run "
          f"{os.getloadavg()[0]:.1f}.\n", flush=True)
    if faiss is None:
        print("faiss is not installed: its columns read nan (pip install faiss-cpu).\n")
    emit("## Exact k-NN, uniform random codes\n")
    bench_knn(args, rng)
    emit("\n## Radius search and k-NN by multi-index hashing\n")
    bench_radius(args, rng)
    emit("\n## Memory\n")
    bench_memory(args, rng)


if __name__ == "__main__":
    main()
