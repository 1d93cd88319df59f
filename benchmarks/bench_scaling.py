"""Scaling numbers for docs/scaling.md: search back ends side by side, and sharded encoding.

    python benchmarks/bench_scaling.py --full   # 1M and 10M codes at 64 and 48 bits, all 3,000
                                                # sample images (the lead's run, idle machine)
    python benchmarks/bench_scaling.py          # small: 100k codes, 600 images (2 minutes)

Search: random codes (uniform bits: the hardest case for multi-index hashing, whose probes pay
off on clustered codes), 100-NN of ``--queries`` random queries, with each back end in turn in
this one run: the exact scan (``HammingIndex``), multi-index hashing (``HammingIndex(bits,
multi_index=m)``, m = round(bits / log2(n))), faiss ``IndexBinaryFlat`` and Milvus Lite
(BIN_FLAT, HAMMING; one process beside ours, reached over gRPC). For each: build seconds,
memory (our process's resident growth while building, and for Milvus Lite the resident size of
its server process), queries/s (best of ``--repeat``) and whether its distances equal the exact
scan's. Milvus Lite gets ``--milvus-queries`` queries (it is much slower per query).

Encoding: ``dshgan index build`` of the bundled CIFAR-10 sample (``dshgan data example-folder``)
with the photos config's net as training starts it (EfficientNet-Lite0, ImageNet weights, images
decoded at 128 px; ``--run`` takes a trained run instead), on ``--device`` (cpu), under
``torchrun``: one
process with one thread, one process with every core, and N processes sharing the cores out
(OMP_NUM_THREADS = cores / N). Images are decoded in each process (``--workers 0``) and the
chunks are ``--chunk`` images (shards are whole chunks). images/s = images / the build's own
seconds as rank 0 reports them (model loading, listing, encoding, gathering, writing; not
Python's start-up). Each index must equal the first byte for byte.
Prints markdown tables and the machine, date and command.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from machine_info import machine_line
from timing import best_time

from dshgan.index import HammingIndex

K = 100


def emit(line: str = "") -> None:
    print(line, flush=True)


def rss_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def children_rss_mib() -> float:
    """Resident size of our child processes (the Milvus Lite server)."""
    me, total = os.getpid(), 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        total += rss_mib(entry)
            except (OSError, ValueError, IndexError):
                continue
    return total


def machine() -> str:
    return machine_line()


# ---------------------------------------------------------------------- search back ends
def flat_backend(bits, packed, multi_index=None):
    index = HammingIndex(bits, multi_index=multi_index)
    index.add(packed, packed=True)
    if multi_index:
        index.search(packed[:1], 1, packed=True)  # builds the hash tables
    return lambda q: index.search(q, K, packed=True)[0], index


def faiss_backend(bits, packed):
    import faiss

    index = faiss.IndexBinaryFlat(8 * packed.shape[1])
    index.add(packed)
    return lambda q: index.search(q, K)[0], index


def milvus_backend(bits, packed, folder):
    from dshgan.collection.milvus_store import (
        INSERT_ROWS,
        connect,
        import_milvus,
        insert_columns,
    )

    _, data_type = import_milvus()
    client = connect(str(Path(folder) / f"bench-{bits}-{len(packed)}.db"))
    name = "codes"
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", data_type.INT64, is_primary=True)
    schema.add_field("code", data_type.BINARY_VECTOR, dim=8 * packed.shape[1])
    params = client.prepare_index_params()
    params.add_index(field_name="code", index_type="BIN_FLAT", metric_type="HAMMING")
    client.create_collection(name, schema=schema, index_params=params,
                             consistency_level="Strong")
    for lo in range(0, len(packed), INSERT_ROWS):
        block = packed[lo:lo + INSERT_ROWS]
        insert_columns(client, name, [list(range(lo, lo + len(block))),
                                      [row.tobytes() for row in block]])
    client.flush(name)
    client.load_collection(name)

    def search(q):
        hits = client.search(name, data=[row.tobytes() for row in q], limit=K,
                             anns_field="code", search_params={"metric_type": "HAMMING"})
        return np.array([[round(h["distance"]) for h in row] for row in hits], np.int32)

    return search, client


def search_table(sizes, bit_lengths, nq, milvus_nq, repeat, folder, skip):
    import numba

    emit(f"\n### 100-NN search over random codes ({nq} queries; Milvus Lite {milvus_nq}; "
         f"numba threads {numba.get_num_threads()})\n")
    emit("| codes | bits | back end | build s | memory MiB | queries/s | distances = exact |")
    emit("| ---: | ---: | --- | ---: | ---: | ---: | --- |")
    rng = np.random.default_rng(0)
    for n in sizes:
        for bits in bit_lengths:
            nbytes = (bits + 7) // 8
            packed = _random_codes(rng, n, bits)
            queries = _random_codes(rng, nq, bits)
            emit(f"| {n:,} | {bits} | raw packed codes | | {n * nbytes / 2**20:,.0f} | | |")
            exact = None
            m = max(1, round(bits / math.log2(n)))
            backends = [("exact scan (HammingIndex)", flat_backend, (bits, packed)),
                        (f"multi-index hashing, m={m}", flat_backend, (bits, packed, m)),
                        ("faiss IndexBinaryFlat", faiss_backend, (bits, packed)),
                        ("Milvus Lite BIN_FLAT", milvus_backend, (bits, packed, folder))]
            for name, make, make_args in backends:
                if any(s in name.lower() for s in skip):
                    continue
                is_milvus = name.startswith("Milvus")
                gc.collect()
                before = children_rss_mib() if is_milvus else rss_mib()
                start = time.perf_counter()
                search, handle = make(*make_args)
                built = time.perf_counter() - start
                memory = (children_rss_mib() if is_milvus else rss_mib()) - before
                q = queries[:milvus_nq] if is_milvus else queries
                dist = search(q)  # warm-up, and the answer checked
                if exact is None:
                    exact = dist
                same = bool((np.sort(dist, 1) == np.sort(exact[:len(q)], 1)).all())
                seconds = best_time(partial(search, q), repeat)
                emit(f"| {n:,} | {bits} | {name} | {built:.1f} | {memory:,.0f} | "
                     f"{len(q) / seconds:,.0f} | {'yes' if same else 'NO'} |")
                if is_milvus:
                    handle.drop_collection("codes")
                    handle.close()
                del search, handle
            del packed


def _random_codes(rng, n: int, bits: int) -> np.ndarray:
    """Packed uniform random codes with zero padding bits, made a million at a time."""
    nbytes = (bits + 7) // 8
    out = np.empty((n, nbytes), np.uint8)
    mask = np.uint8((0xFF << (8 * nbytes - bits)) & 0xFF)
    for lo in range(0, n, 1 << 20):
        block = rng.integers(0, 256, (min(n, lo + (1 << 20)) - lo, nbytes), dtype=np.uint8)
        block[:, -1] &= mask
        out[lo:lo + len(block)] = block
    return out


# ---------------------------------------------------------------------- encoding
def make_photos_run(run: Path) -> str:
    """A run folder whose model.pt is the photos config's net as training starts it:
    EfficientNet-Lite0 (ImageNet weights) at 128 px, 48-bit head seeded 0. Encoding costs the
    same whatever the weights, so no training is needed to time it."""
    import torch

    from dshgan.config import config_to_dict, load_config
    from dshgan.nets import HashingNet
    from dshgan.train.checkpoints import save_checkpoint

    config = load_config("photos")
    torch.manual_seed(0)
    net = HashingNet("efficientnet-lite0", [48], 10,
                     backbone_kwargs=dict(config.hashing.backbone_kwargs))
    run.mkdir(parents=True, exist_ok=True)
    save_checkpoint(run / "model.pt", {
        "nets": [{"bits": net.bits, "state": net.state_dict()}], "generator": None,
        "config": config_to_dict(config), "class_names": [f"class{i}" for i in range(10)],
        "multi_label": False, "image_size": [128, 128], "gan_image_size": 32})
    return str(run)


def encoding_table(work: Path, run: str | None, images: int, processes: list[int],
                   chunk: int, device: str) -> None:
    dshgan = [sys.executable, "-m", "dshgan"]
    cores = os.cpu_count() or 1
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    run = run or make_photos_run(work / "run-photos")
    folder = work / "sample"
    subprocess.run([*dshgan, "data", "example-folder", str(folder)], env=env, check=True,
                   capture_output=True)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for extra in files[images:]:  # keep the first `images` (sorted: every class folder)
        extra.unlink()
    emit(f"\n### Encoding: `dshgan index build` of {min(images, len(files)):,} sample images "
         f"(run {Path(run).name}), device {device}, {cores} cores shared out, chunks of "
         f"{chunk}\n")
    emit("| processes | threads each | build s | images/s | same index as 1 process |")
    emit("| ---: | ---: | ---: | ---: | --- |")
    first = None
    rows = dict.fromkeys([(1, 1)] + [(n, max(1, cores // n)) for n in processes])
    for n, threads in rows:
        out = work / f"enc-{n}x{threads}.index"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc-per-node", str(n), "-m", "dshgan", "index", "build", run,
                   "--images", str(folder), "--out", str(out), "--workers", "0",
                   "--chunk", str(chunk),
                   "--device", device, "--no-progress"]
        done = subprocess.run(command, env={**env, "OMP_NUM_THREADS": str(threads)},
                              check=True, capture_output=True, text=True)
        match = re.search(r"indexed (\d+) images .* in ([0-9.]+) s", done.stdout)
        count, seconds = int(match.group(1)), float(match.group(2))
        first = first or out.read_bytes()
        emit(f"| {n} | {threads} | {seconds:.1f} | {count / seconds:,.1f} | "
             f"{'yes' if out.read_bytes() == first else 'NO'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="1M and 10M codes, 3,000 images")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--bits", type=int, nargs="+", default=[64, 48])
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--milvus-queries", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[],
                        help="back ends to leave out, e.g. milvus multi-index")
    parser.add_argument("--images", type=int, default=None, help="sample images to encode")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk", type=int, default=100,
                        help="images per chunk: shards are whole chunks, so a sample of a few "
                             "thousand needs chunks far below the default 4,096 to be split")
    parser.add_argument("--run", default=None,
                        help="a trained run (default: the photos net as training starts it)")
    parser.add_argument("--device", default="cpu",
                        help="encoding device: cpu, or cuda (each rank takes its own GPU)")
    parser.add_argument("--no-encoding", action="store_true")
    parser.add_argument("--no-search", action="store_true")
    args = parser.parse_args()
    sizes = args.sizes or ([1_000_000, 10_000_000] if args.full else [100_000])
    nq = args.queries or (1000 if args.full else 200)
    milvus_nq = args.milvus_queries or (100 if args.full else 50)
    images = args.images or (3000 if args.full else 600)
    # as bench_index: OpenMP threads sleep while waiting (a spinning one takes the core its
    # partner needs on a shared machine); set before faiss, numba's or torch's OpenMP starts,
    # and inherited by the encoding runs. Export OMP_WAIT_POLICY=ACTIVE to measure spinning.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    emit(f"# bench_scaling ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
         f"{machine()})")
    emit(f"command: python benchmarks/bench_scaling.py {' '.join(sys.argv[1:])}".rstrip())
    emit(f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, load average before the run "
         f"{os.getloadavg()[0]:.1f}")
    work = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    try:
        if not args.no_search:
            search_table(sizes, args.bits, nq, milvus_nq, args.repeat, work,
                         [s.lower() for s in args.skip])
        if not args.no_encoding:
            encoding_table(work, args.run, images, args.processes, args.chunk,
                           args.device)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
