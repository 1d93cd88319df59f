"""Encoding a folder of images: the path-backed loader against decoding everything into memory.

Target (own-images issue): encoding 20,000 images of 128 px from a folder peaks under 1 GB of
resident memory (the in-memory path needs over 2 GB), at a throughput within 15% of the
in-memory path or better, measured in the same run.

    python benchmarks/bench_folder_encoding.py                 # 20,000 images, one round
    python benchmarks/bench_folder_encoding.py --rounds 2      # then again in the other order
    python benchmarks/bench_folder_encoding.py --n 2000        # a quick try

The images: CIFAR-10 JPEGs (``--cifar``, the shared benchmark archive) upsampled to 128x128
(bicubic) and saved as JPEG quality 90 in ``<work>/folder128-<n>/<class>/`` (built once, then
reused). Each path runs in its own subprocess, so each peak is its own:

* folder: ``open_images`` (path-backed ``ImageFiles``) then ``part_batches`` (decoding worker
  processes, one batch each) and ``encode_images`` batch by batch;
* in-memory: ``load_dataset(folder, image_size=128)`` (one uint8 array) then ``encode_images``.

Both encode with the same seeded, pretrained, untrained EfficientNet-Lite0 hashing net (48 bits)
and must give the same codes. Memory: the main process's peak RSS (``ru_maxrss``), each decoding
worker's peak RSS (the kernel's VmHWM, sampled from /proc), their sum (an upper bound: a forked
worker's RSS counts pages it shares with its parent), and the peak of the summed PSS of all the
processes sampled at the same instant (shared pages counted once: the memory really used).
Sampling every 0.25 s cost the folder path up to a third of its throughput on the 2-core VM
(reading the workers' smaps), hence one sample a second by default; the peaks RSS are the
kernel's and do not depend on it.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

from machine_info import cpu_model

MB = 1e6
CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg.tar.gz"
MEMORY_TARGET_MB = 1000  # folder path, all processes
THROUGHPUT_TARGET = 0.85  # folder images/s over in-memory images/s


def emit(line: str = "") -> None:
    print(line, flush=True)


def machine() -> str:
    """CPU, cores, torch: what the absolute figures depend on."""
    import torch

    model = cpu_model()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{model}, nproc {cores}; Python {platform.python_version()}, torch "
            f"{torch.__version__} ({torch.get_num_threads()} threads); "
            f"{datetime.datetime.now().isoformat(timespec='seconds')}")


def git_state(repo: Path) -> str:
    """Commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return head + (" (working tree with uncommitted changes)" if dirty else "")


# --- memory of a process and its children, from /proc -------------------------------------------

def _status_kb(pid: int | str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _pss_kb(pid: int | str) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children of children too), from /proc/*/stat."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        frontier += kids
    return found


class MemorySampler(threading.Thread):
    """Samples a process tree every ``interval`` s: each descendant's peak RSS (VmHWM) and the
    largest summed PSS / RSS of the whole tree seen at one instant."""

    def __init__(self, pid: int | None = None, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid or os.getpid(), interval
        self.child_peak_kb: dict[int, int] = {}
        self.child_name: dict[int, str] = {}
        self.tree_pss_kb = self.tree_rss_kb = self.own_peak_kb = 0
        self.started = time.perf_counter()
        self.tree_pss_at = self.own_peak_at = 0.0  # s after start when the peak was first seen
        self._halt = threading.Event()

    def sample(self) -> None:
        kids = descendants(self.pid)
        pss, rss = _pss_kb(self.pid), _status_kb(self.pid, "VmRSS")
        now = time.perf_counter() - self.started
        own = _status_kb(self.pid, "VmHWM")
        if own > self.own_peak_kb:
            self.own_peak_kb, self.own_peak_at = own, now
        for c in kids:
            hwm = _status_kb(c, "VmHWM")
            if hwm:
                self.child_peak_kb[c] = max(self.child_peak_kb.get(c, 0), hwm)
                if c not in self.child_name:
                    try:
                        self.child_name[c] = Path(f"/proc/{c}/comm").read_text().strip()
                    except OSError:
                        self.child_name[c] = "?"
            pss += _pss_kb(c)
            rss += _status_kb(c, "VmRSS")
        if pss > self.tree_pss_kb:
            self.tree_pss_kb, self.tree_pss_at = pss, now
        self.tree_rss_kb = max(self.tree_rss_kb, rss)

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    @property
    def children_sum_mb(self) -> float:
        return sum(self.child_peak_kb.values()) * 1024 / MB


# --- the images -----------------------------------------------------------------------------------

def cifar_folder(work: Path, cifar: Path) -> Path:
    """The CIFAR-10 JPEGs extracted under ``work`` (once)."""
    out = work / "cifar10-jpg"
    done = work / "cifar10-jpg.done"
    if not done.exists():
        emit(f"extracting {cifar} to {out} ...")
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(cifar) as tar:
            if sys.version_info >= (3, 12):
                tar.extractall(out, filter="data")
            else:
                tar.extractall(out)
        done.write_text("ok\n")
    return out


def cifar_files(root: Path) -> list[Path]:
    """All CIFAR JPEG files (train then test), in a fixed order."""
    files = sorted(root.rglob("*.jpg"))
    return sorted(files, key=lambda p: (p.relative_to(root).parts[0] != "train", str(p)))


def build_folder(work: Path, cifar: Path, n: int, size: int = 128) -> Path:
    """``n`` CIFAR-10 images, as many per class as possible, upsampled to ``size`` px JPEGs."""
    from PIL import Image

    out = work / f"folder{size}-{n}"
    done = work / f"folder{size}-{n}.done"
    if done.exists():
        return out
    src = cifar_folder(work, cifar)
    by_class: dict[str, list[Path]] = {}
    for f in cifar_files(src):
        by_class.setdefault(f.parent.name, []).append(f)
    classes = sorted(by_class)
    per_class = [n // len(classes) + (k < n % len(classes)) for k in range(len(classes))]
    emit(f"building {n} JPEGs of {size}x{size} in {out} (once) ...")
    t0 = time.perf_counter()
    for cname, count in zip(classes, per_class):
        (out / cname).mkdir(parents=True, exist_ok=True)
        for j, f in enumerate(by_class[cname][:count]):
            with Image.open(f) as img:
                img.convert("RGB").resize((size, size), Image.BICUBIC).save(
                    out / cname / f"{j:05d}.jpg", quality=90)
    done.write_text(f"{n}\n")
    emit(f"built in {time.perf_counter() - t0:.0f} s")
    return out


# --- one measured path, in a subprocess -----------------------------------------------------------

def measure(args) -> dict:
    """Decode + encode ``args.folder`` one way; figures as a dict (printed as JSON)."""
    import numpy as np
    import torch

    from dshgan.data import load_dataset
    from dshgan.data.files import part_batches
    from dshgan.data.heap import tune_allocator
    from dshgan.data.open_source import open_images
    from dshgan.nets import HashingNet
    from dshgan.train.encoding import encode_images

    tune_allocator()  # both paths under the heap settings every `dshgan` command runs with
    if args.threads:
        torch.set_num_threads(args.threads)
    sampler = MemorySampler(interval=args.interval)
    sampler.start()
    torch.manual_seed(0)
    net = HashingNet("efficientnet-lite0", [48], 10, backbone_kwargs={
        "pretrained": True, "input_size": 128, "trainable_blocks": 8}).eval()
    device = torch.device("cpu")
    before_mb = _status_kb("self", "VmRSS") * 1024 / MB
    t0 = time.perf_counter()
    decode_s = None
    if args.child == "folder":
        files = open_images(args.folder, 128)
        n = len(files)
        codes = [encode_images(net, b.images, device, args.encode_batch or None)[48]
                 for b in part_batches(files, np.arange(n), 128, args.batch, args.workers)]
        codes = np.concatenate(codes)
    else:
        data = load_dataset(args.folder, image_size=128)
        n = len(data)
        decode_s = time.perf_counter() - t0
        codes = encode_images(net, data.images, device, args.encode_batch or None)[48]
    wall = time.perf_counter() - t0
    sampler.sample()
    sampler.stop()
    children_kernel = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / MB
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
    return {
        "path": args.child, "images": n, "wall_s": wall, "decode_s": decode_s,
        "images_per_s": n / wall, "main_peak_mb": main_mb, "before_mb": before_mb,
        "workers": len(sampler.child_peak_kb), "workers_sum_mb": sampler.children_sum_mb,
        "largest_child_kernel_mb": children_kernel,
        "sum_mb": main_mb + sampler.children_sum_mb,
        "tree_pss_mb": sampler.tree_pss_kb * 1024 / MB,
        "tree_rss_mb": sampler.tree_rss_kb * 1024 / MB,
        "codes_sha1": hashlib.sha1(np.ascontiguousarray(codes).tobytes()).hexdigest()[:12],
        "threads": torch.get_num_threads(),
    }


def run_child(path: str, folder: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--child", path, "--folder", str(folder),
           "--batch", str(args.batch), "--encode-batch", str(args.encode_batch),
           "--interval", str(args.interval)]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"{path} path failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(r: dict) -> str:
    decode = f"{r['decode_s']:.1f}" if r["decode_s"] is not None else "overlapped"
    return (f"| {r['path']} | {r['images']} | {r['wall_s']:.1f} | {decode} | "
            f"{r['images_per_s']:.1f} | {r['main_peak_mb']:.0f} | {r['workers']} | "
            f"{r['workers_sum_mb']:.0f} | {r['sum_mb']:.0f} | {r['tree_pss_mb']:.0f} | "
            f"{r['codes_sha1']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="images in the folder")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dshgan-bench"),
                        help="folder for the extracted and built images (kept between runs)")
    parser.add_argument("--cifar", type=Path, default=CIFAR, help="cifar10-jpg.tar.gz")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure both paths this many times, alternating which goes first")
    parser.add_argument("--first", choices=["folder", "memory"], default="folder",
                        help="the path measured first in the first round")
    parser.add_argument("--batch", type=int, default=256, help="decoding batch (dshgan's)")
    parser.add_argument("--encode-batch", type=int, default=0,
                        help="images per forward pass (0: dshgan's, encoding_batch_size)")
    parser.add_argument("--workers", type=int, default=None,
                        help="decoding processes (default: one per core, as dshgan does)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="PSS sampling period, s (finer slows the folder path measurably)")
    parser.add_argument("--child", choices=["folder", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)), flush=True)
        return

    emit(f"machine: {machine()}")
    emit(f"code: dshgan {git_state(Path(__file__).resolve().parents[1])}")
    folder = build_folder(args.work, args.cifar, args.n)
    emit(f"images: {args.n} CIFAR-10 JPEGs upsampled to 128x128 (bicubic, JPEG q90) in {folder}")
    encode_batch = args.encode_batch or "dshgan's (encoding_batch_size)"
    emit(f"decoding batch {args.batch}, encoding batch {encode_batch}; decoding workers "
         f"{'one per core' if args.workers is None else args.workers}; MB = 10^6 bytes")
    emit()
    emit("| path | images | wall s | decode s | images/s | main peak MB | workers | "
         "workers' peaks MB (sum) | main + workers MB | peak PSS of all MB | codes sha1 |")
    emit("| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- |")
    results = []
    for k in range(args.rounds):
        order = ["folder", "memory"] if (k % 2 == 0) == (args.first == "folder") \
            else ["memory", "folder"]
        got = {}
        for p in order:  # each row as soon as it is measured
            got[p] = run_child(p, folder, args)
            emit(row(got[p]))
        results.append(got)
    emit()
    for k, got in enumerate(results, 1):
        f, m = got["folder"], got["memory"]
        ratio = f["images_per_s"] / m["images_per_s"]
        first = next(iter(got))
        emit(f"round {k} ({first} first): throughput folder / in-memory = {ratio:.3f} "
             f"(target >= {THROUGHPUT_TARGET}: {'met' if ratio >= THROUGHPUT_TARGET else 'MISSED'})"
             f"; folder peak main + workers {f['sum_mb']:.0f} MB, all-process PSS "
             f"{f['tree_pss_mb']:.0f} MB (target < {MEMORY_TARGET_MB}: "
             f"{'met' if f['sum_mb'] < MEMORY_TARGET_MB else 'MISSED'} on the sum, "
             f"{'met' if f['tree_pss_mb'] < MEMORY_TARGET_MB else 'MISSED'} on PSS); "
             f"in-memory peak {m['sum_mb']:.0f} MB "
             f"({'over' if m['sum_mb'] > 2000 else 'NOT over'} 2,000 MB); "
             f"same codes: {f['codes_sha1'] == m['codes_sha1']}")


if __name__ == "__main__":
    main()
