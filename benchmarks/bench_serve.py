"""``dshgan serve`` under load: 16 concurrent clients against an index of 1,000,000 codes, with
micro-batching and with plain per-request encoding, beside the CNN's own encoding throughput.

    python benchmarks/bench_serve.py                 # full: 1M codes, 16 clients x 60 s per mode
    python benchmarks/bench_serve.py --run RUN       # a trained run of yours (else one is trained)
    python benchmarks/bench_serve.py --quick         # a 10-second check: 20k codes, short phases
    python benchmarks/bench_serve.py --net-process   # also micro-batching with the net in a
                                                     # process of its own (serve --net-process)

Without ``--run`` the full run trains the bundled ``demo`` config into ``--work`` first (about
3 minutes on 2 cores; reused by later runs); ``--quick`` trains a ``--dry-run`` model instead (a
few seconds; same architecture, made-up data). The index holds the 3,000 images of the bundled
CIFAR-10 sample (``dshgan data example-folder``), encoded by the run, plus random codes with
made-up ids and paths up to ``--codes`` (search time does not depend on what the codes mean; the
queries are real sample images, and each answer must put the query's own file first).

Per mode the server is a fresh ``python -m dshgan serve`` process on a loopback port: a warm-up
second, one client alone (latency: p50), then ``--clients`` clients at once (throughput, p50 and
p99, errors), its resident memory (VmRSS) when ready, one second into the many-client load (when
the buffers of full batches exist) and at the end: the last two must match. The clients are threads of
this process (keep-alive HTTP/1.1, prebuilt multipart bodies), so on a small machine they share
the cores with the server; they stand in for clients on other machines and cost little: py-spy
and the process's CPU clock gave 0.2-0.5 ms of CPU per query for all 16 (against 2-3 ms in the
server besides the net), so they stayed plain threads. Per mode the table also says how busy
the server kept its net during the many-client load (the batcher's time in forward passes and
the batches' searches, against the load's duration) and what share of that time its thread
was running rather than waiting for a core or the GIL (``busy_s`` and ``busy_cpu_s`` in
``/api/stats``; per request they are summed over the concurrent requests, so "busy" passes
100%). The CNN's own throughput is measured in this process first: the run's
net on decoded images, 256 per call (in dshgan's own inference batches, as ``dshgan index
build`` encodes), under the server's glibc settings (``data.heap.tune_allocator``) and number
of torch threads (``--threads``, default half the cores).

Targets: 16-client throughput >= 0.8 x the CNN's own; p50 < 50 ms at 1 client; p99 < 250 ms
at 16 clients; memory flat (end within 10% of start). Each is printed as met or missed.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
from machine_info import machine_line

DEFAULT_WORK = "runs/bench-serve"


def emit(line: str = "") -> None:
    print(line, flush=True)


def machine() -> str:
    return machine_line()


# ---------------------------------------------------------------------- setup
def trained_run(args: argparse.Namespace, work: Path) -> Path:
    if args.run:
        return Path(args.run)
    run = work / ("dry-run" if args.quick else "demo")
    if (run / "model.pt").exists():
        emit(f"run: {run} (trained by an earlier run of this benchmark)")
        return run
    cmd = [sys.executable, "-m", "dshgan", "train", "--config", "demo", "--run-dir", str(run),
           "--no-progress", "--set", "evaluation.baselines=[]"]
    if args.quick:
        cmd.append("--dry-run")
    emit(f"run: training {'a dry-run' if args.quick else 'the demo config'} into {run}")
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    emit(f"     trained in {time.perf_counter() - started:.0f} s")
    return run


def build_bench_index(run: Path, work: Path, codes: int, seed: int) -> tuple[Path, list[Path]]:
    """The sample's images indexed by ``run``, plus random codes up to ``codes`` in all."""
    from dshgan.collection import ImageIndex, build_index
    from dshgan.data.example_folder import write_example_folder

    photos = work / "photos"
    if not photos.exists():
        write_example_folder(photos)
    real = work / f"real-{hashlib.sha1(str(run.resolve()).encode()).hexdigest()[:8]}.index"
    if not real.exists():
        build_index(run, photos, real, progress=False)
    out = work / f"{real.stem}-{codes}.index"
    index = ImageIndex.load(real)
    n_real = len(index)
    if not out.exists():
        extra = max(0, codes - n_real)
        rng = np.random.default_rng(seed)
        started = time.perf_counter()
        index.add_codes(rng.integers(0, 2, (extra, index.bits), np.uint8),
                        [f"made-up/{i:07d}.jpg" for i in range(extra)],
                        rng.integers(0, 256, (extra, 20), np.uint8).view("S20").ravel(),
                        labels=[[] for _ in range(extra)])
        index.save(out)
        emit(f"index: {out}: {n_real} sample images + {extra:,} random codes with made-up ids "
             f"and paths, built in {time.perf_counter() - started:.1f} s")
    else:
        emit(f"index: {out} (built by an earlier run of this benchmark)")
    queries = sorted(p for p in photos.rglob("*.jpg"))
    return out, queries


def cnn_throughput(run: Path, queries: list[Path], seconds: float, threads: int) -> dict:
    """Images/s of the run's net alone: decoded images, batches of 256 (as index build), with
    as many torch threads as the server's net has."""
    import torch

    from dshgan.collection import Encoder

    torch.set_num_threads(threads)
    encoder = Encoder.from_run(run)
    images = encoder.prepare([str(p) for p in queries[:512]])
    batch = np.concatenate([images] * (256 // len(images) + 1))[:256]
    out = {}
    for size in (256, 1):
        encoder.encode(batch[:size])  # warm-up
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            encoder.encode(batch[:size])
            n += size
        out[size] = n / (time.perf_counter() - started)
    return out


# ---------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and every process under it (uvicorn's workers)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += rss_mb(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return total


def start_server(index: Path, run: Path, port: int, batch: int, threads: int | None,
                 workers: int = 1, net_process: bool = False) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dshgan", "serve", str(index), "--run", str(run),
           "--port", str(port), "--batch", str(batch), "--workers", str(workers)]
    if net_process:
        cmd.append("--net-process")
    if threads is not None:
        cmd += ["--threads", str(threads)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped: {server.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise TimeoutError("the server did not become ready in 5 minutes")
        time.sleep(0.2)


def stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=10) as r:
        return json.load(r)


# ---------------------------------------------------------------------- load
def request_bodies(queries: list[Path], photos: Path) -> list[tuple[bytes, str, str]]:
    """(multipart body, content type, the query's stored path) per query image."""
    out = []
    for path in queries:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                f"filename=\"{path.name}\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() \
            + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        out.append((body, f"multipart/form-data; boundary={boundary}",
                    path.relative_to(photos).as_posix()))
    return out


def load(port: int, bodies: list, clients: int, seconds: float, k: int) -> dict:
    """``clients`` threads posting queries for ``seconds``: latencies, answers, errors."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list = []
    stop = time.monotonic() + seconds

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = c * 97
        try:
            while time.monotonic() < stop:
                body, content_type, stored = bodies[i % len(bodies)]
                i += 1
                started = time.perf_counter()
                conn.request("POST", f"/api/search?k={k}", body, {"Content-Type": content_type})
                response = conn.getresponse()
                answer = response.read()
                latencies[c].append(time.perf_counter() - started)
                if response.status != 200:
                    errors.append(f"HTTP {response.status}: {answer[:120]!r}")
                elif json.loads(answer)["results"][0]["path"] != stored:
                    errors.append(f"wrong first result for {stored}")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            errors.append(repr(exc))
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    flat = np.array([x for per in latencies for x in per]) * 1000
    return {"clients": clients, "queries": len(flat), "qps": len(flat) / wall, "wall": wall,
            "p50": float(np.percentile(flat, 50)) if len(flat) else float("nan"),
            "p99": float(np.percentile(flat, 99)) if len(flat) else float("nan"),
            "errors": errors}


def run_mode(name: str, batch: int, index: Path, run: Path, bodies: list,
             args: argparse.Namespace, net_process: bool = False) -> dict:
    port = free_port()
    started = time.perf_counter()
    server = start_server(index, run, port, batch, args.threads, args.workers, net_process)
    ready_s = time.perf_counter() - started
    samples: list[tuple[float, float]] = []  # (seconds into the 16-client phase, RSS MB)
    stop = threading.Event()

    def sample(started: float) -> None:
        while not stop.wait(0.5):
            samples.append((time.perf_counter() - started, tree_rss_mb(server.pid)))

    try:
        rss_ready = tree_rss_mb(server.pid)
        load(port, bodies, 1, args.warmup, args.k)
        single = load(port, bodies, 1, args.single_seconds, args.k)
        before = stats(port)["batching"]
        sampler = threading.Thread(target=sample, args=(time.perf_counter(),))
        sampler.start()
        many = load(port, bodies, args.clients, args.seconds, args.k)
        stop.set()
        sampler.join()
        after = stats(port)["batching"]
        rss_end = tree_rss_mb(server.pid)
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
    # memory "at start" of the load: after its first second, when the net's buffers for full
    # batches exist; a leak shows as growth from there to the end
    rss_start = next((mb for t, mb in samples if t >= 1.0), rss_end)
    passes = after["forward_passes"] - before["forward_passes"]
    mean_batch = (after["images_encoded"] - before["images_encoded"]) / max(passes, 1)
    busy = after["busy_s"] - before["busy_s"]
    return {"name": name, "batch": batch, "ready_s": ready_s, "single": single, "many": many,
            "rss_ready": rss_ready, "rss_start": rss_start, "rss_end": rss_end,
            "mean_batch": mean_batch, "net_busy": busy / many["wall"],
            "net_running": (after["busy_cpu_s"] - before["busy_cpu_s"]) / max(busy, 1e-9)}


# ---------------------------------------------------------------------- report
def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 10-second check")
    parser.add_argument("--run", default=None, help="a trained run (default: train one)")
    parser.add_argument("--work", default=DEFAULT_WORK, help="folder for the run, images, index")
    parser.add_argument("--codes", type=int, default=None, help="codes in the index (1,000,000)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=None, help="load phase (60 s)")
    parser.add_argument("--max-batch", type=int, default=32, help="the batched mode's --batch")
    parser.add_argument("--workers", type=int, default=1,
                        help="the server's --workers (processes, each with the net and index)")
    parser.add_argument("--threads", type=int, default=None,
                        help="the server's --threads (default: dshgan serve's default)")
    parser.add_argument("--net-process", action="store_true",
                        help="also micro-batching with the server's --net-process (the net in "
                             "a process of its own), right after the in-process mode")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from dshgan.data.heap import tune_allocator

    tune_allocator()  # as the `dshgan serve` process does: the CNN alone gets the same heap
    args.codes = args.codes or (20_000 if args.quick else 1_000_000)
    args.seconds = args.seconds or (3.0 if args.quick else 60.0)
    args.single_seconds = 1.5 if args.quick else 10.0
    args.warmup = 0.5 if args.quick else 2.0
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    emit(f"# bench_serve{' --quick' if args.quick else ''}, "
         f"{datetime.datetime.now().isoformat(timespec='seconds')}")
    emit(f"machine: {machine()}")
    run = trained_run(args, work)
    index, queries = build_bench_index(run, work, args.codes, args.seed)
    from dshgan.serve.settings import default_threads

    threads = args.threads or default_threads()
    cnn = cnn_throughput(run, queries, 2.0 if args.quick else 10.0, threads)
    emit(f"CNN alone ({run}, {threads} torch thread(s), as the server): {cnn[256]:,.0f} "
         f"images/s in batches of 256, {cnn[1]:,.0f} images/s one at a time")
    bodies = request_bodies(queries, work / "photos")
    modes = [run_mode("micro-batching", args.max_batch, index, run, bodies, args)]
    if args.net_process:
        modes.append(run_mode("micro-batching, net process", args.max_batch, index, run, bodies,
                              args, net_process=True))
    modes.append(run_mode("per request", 1, index, run, bodies, args))

    emit()
    emit(f"{args.codes:,} codes; k={args.k}; {args.clients} clients x {args.seconds:g} s, "
         f"1 client x {args.single_seconds:g} s")
    emit()
    emit("| mode | p50 ms, 1 client | queries/s, 16 | p50 ms, 16 | p99 ms, 16 | errors | "
         "mean batch | net busy, its thread running | RSS MB ready, load start -> end | "
         "ready s |")
    emit("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for m in modes:
        s, c = m["single"], m["many"]
        emit(f"| {m['name']} | {s['p50']:.1f} | {c['qps']:,.0f} | {c['p50']:.1f} | "
             f"{c['p99']:.1f} | {len(s['errors']) + len(c['errors'])} | "
             f"{m['mean_batch']:.1f} | {m['net_busy']:.0%}, {m['net_running']:.0%} | "
             f"{m['rss_ready']:.0f}, {m['rss_start']:.0f} -> "
             f"{m['rss_end']:.0f} | "
             f"{m['ready_s']:.1f} |")
    best = max(modes, key=lambda m: m["many"]["qps"])
    emit()
    emit(f"faster under load: {best['name']} "
         f"({best['many']['qps'] / min(m['many']['qps'] for m in modes):.2f}x the slowest)")
    emit("queries/s / CNN's own: " + ", ".join(
        f"{m['name']} {m['many']['qps'] / cnn[256]:.2f}" for m in modes))
    errors = sum(len(m["single"]["errors"]) + len(m["many"]["errors"]) for m in modes)
    ratio = best["many"]["qps"] / cnn[256]
    growth = best["rss_end"] / best["rss_start"] - 1
    emit(f"- errors: {errors} ({verdict(errors == 0)}: zero)")
    emit(f"- throughput / CNN's own: {best['many']['qps']:,.0f} / {cnn[256]:,.0f} = {ratio:.2f} "
         f"({verdict(ratio >= 0.8)}: >= 0.8)")
    emit(f"- p50 at 1 client: {best['single']['p50']:.1f} ms "
         f"({verdict(best['single']['p50'] < 50)}: < 50 ms)")
    emit(f"- p99 at {args.clients} clients: {best['many']['p99']:.1f} ms "
         f"({verdict(best['many']['p99'] < 250)}: < 250 ms)")
    emit(f"- resident memory: {best['rss_start']:.0f} -> {best['rss_end']:.0f} MB "
         f"({growth:+.1%}; {verdict(growth < 0.10)}: flat, within 10%)")
    for m in modes:
        for e in (m["single"]["errors"] + m["many"]["errors"])[:5]:
            emit(f"  {m['name']} error: {e}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
