"""Kill `dshgan index build` at random moments (SIGKILL), rerun it to completion, and compare
with an uninterrupted build: codes, ids, paths, labels and digests must be equal.

    python benchmarks/bench_index_build_resume.py             # 3,000 images, 6 kills
    python benchmarks/bench_index_build_resume.py --quick     # 600 images, 3 kills
    python benchmarks/bench_index_build_resume.py --run RUN   # with a trained run

The folder holds small generated images (64x48, PNG and JPEG, in 10 class folders; a few
truncated JPEGs among them, which both builds must skip and list alike). Each build is its own
process (`python -m dshgan index build ... --chunk C`), so a kill lands anywhere: while
importing, while decoding in the worker processes, while writing a chunk file or the index.
Without ``--run`` the model is an untrained small CNN in a run folder made here (the codes'
meaning does not matter for the comparison; making a run this way does not depend on training).
Prints each kill's moment and how many chunks were on disk, the times, and the comparison.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from dshgan.collection import ImageIndex
from dshgan.collection.build import bad_images_file, partial_folder

sys.path.insert(0, str(Path(__file__).parent))
from bench_search_latency import make_run


def make_images(root: Path, n: int, seed: int = 0) -> int:
    """n images in 10 class folders, every 7th a JPEG; every 70th JPEG truncated."""
    rng = np.random.default_rng(seed)
    bad = 0
    for i in range(n):
        folder = root / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        img[:, : 16 + i % 40] //= 2  # some structure, so the codes vary
        if i % 7 == 0:
            path = folder / f"{i:05d}.jpg"
            Image.fromarray(img).save(path, quality=85)
            if (i // 7) % 70 == 0:
                path.write_bytes(path.read_bytes()[:300])
                bad += 1
        else:
            Image.fromarray(img).save(folder / f"{i:05d}.png")
    return bad


def build_cmd(run: Path, images: Path, out: Path, chunk: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "dshgan", "index", "build", str(run), "--images", str(images),
            "--bits", "48", "--out", str(out), "--chunk", str(chunk), "--workers", str(workers),
            "--no-progress"]


def chunks_on_disk(out: Path) -> int:
    folder = partial_folder(out)
    return len(list(folder.glob("chunk-*.npz"))) if folder.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--kills", type=int, default=None)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", default=None)
    args = parser.parse_args()
    n = args.images or (600 if args.quick else 3000)
    kills = args.kills or (3 if args.quick else 6)
    rng = np.random.default_rng(args.seed)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = Path(args.run) if args.run else make_run(tmp / "run", "demo")
        t = time.perf_counter()
        bad = make_images(tmp / "images", n)
        print(f"# build, kill, resume: {n:,} images ({bad} truncated), chunk {args.chunk}, "
              f"{args.workers} decoding workers; made the folder in {time.perf_counter() - t:.1f} s")

        ref = tmp / "whole.index"
        t = time.perf_counter()
        subprocess.run(build_cmd(run, tmp / "images", ref, args.chunk, args.workers), env=env,
                       check=True, capture_output=True)
        whole_s = time.perf_counter() - t
        print(f"uninterrupted build: {whole_s:.1f} s (process start included)")

        out = tmp / "killed.index"
        total_chunks = -(-n // args.chunk)
        print("\n| try | killed after s | chunks on disk before | after |\n|---|---:|---:|---:|")
        killed_s, landed, final = 0.0, 0, None
        for k in range(kills):
            before = chunks_on_disk(out)
            proc = subprocess.Popen(build_cmd(run, tmp / "images", out, args.chunk,
                                              args.workers), env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            left = max(0.3, (total_chunks - before) / total_chunks)  # aim inside the rest
            delay = float(rng.uniform(0.5, max(1.0, whole_s * 0.9 * left)))
            t = time.perf_counter()
            try:
                stdout, _ = proc.communicate(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the build and its decoding workers
                proc.communicate()
                killed_s += time.perf_counter() - t
                landed += 1
                print(f"| {k + 1} | {delay:.2f} | {before} | {chunks_on_disk(out)} |")
                continue
            # it finished before its kill: that run is the final one
            final = (time.perf_counter() - t, stdout)
            print(f"| {k + 1} | (finished first, {final[0]:.1f} s) | {before} | done |")
            break
        if final is None:
            t = time.perf_counter()
            done = subprocess.run(build_cmd(run, tmp / "images", out, args.chunk,
                                            args.workers), env=env, check=True,
                                  capture_output=True, text=True)
            final = (time.perf_counter() - t, done.stdout)
        print(f"\n{landed} kills landed; the completing run took {final[0]:.1f} s ("
              f"{'; '.join(final[1].strip().splitlines())}); killed runs used {killed_s:.1f} s; "
              f"{total_chunks} chunks in all")

        a, b = ImageIndex.load(ref), ImageIndex.load(out)
        checks = {
            "ids": np.array_equal(a.ids, b.ids),
            "paths": a.paths == b.paths,
            "codes": np.array_equal(a.codes_index.codes(), b.codes_index.codes()),
            "labels": a.labels == b.labels,
            "sha1 digests": np.array_equal(a.digests, b.digests),
            "bad-image lists": bad_images_file(ref).read_text() == bad_images_file(out).read_text(),
            "no id missing or doubled": (len(set(b.ids.tolist())) == len(b)
                                         == n - bad),
            "partial folder removed": not partial_folder(out).exists(),
            "no temporary files left": not [p for p in tmp.iterdir() if p.name.endswith(".tmp")],
        }
        print(f"\nindexed {len(b):,} of {n:,} images, {len(set(map(bytes, b.codes_index.codes())))}"
              " distinct codes\n\n| check | equal to the uninterrupted build |\n|---|---|")
        for name, ok in checks.items():
            print(f"| {name} | {'yes' if ok else 'NO'} |")
        print("\nresult: " + ("PASS" if all(checks.values()) else "FAIL"))
        if not all(checks.values()):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
