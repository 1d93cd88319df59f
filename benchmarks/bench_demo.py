"""The demo's two promises, measured in one run: it finishes within 5 minutes on this machine,
and DSH-GAN beats LSH and ITQ (computed on the same split) at 48 bits.

    python benchmarks/bench_demo.py [--threads N] [--run-dir DIR]

Prints the wall time against the 300 s budget and mAP ratios DSH-GAN / baseline per code length.
Exits non-zero when a promise is broken.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import torch

from dshgan.config import load_config
from dshgan.experiment import run_experiment

BUDGET_S = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--run-dir", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    run_dir = args.run_dir or tempfile.mkdtemp(prefix="dshgan-demo-")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads "
          f"{torch.get_num_threads()}, torch {torch.__version__}; date {time.strftime('%F %H:%M')}")
    start = time.perf_counter()
    metrics = run_experiment(load_config("demo"), run_dir, progress=False)
    wall = time.perf_counter() - start
    results = metrics["results"]
    print(f"wall time {wall:.0f} s = {wall / BUDGET_S:.2f} x the 300 s budget "
          f"(stages: {metrics['timing']})")
    print(f"{'bits':>5} {'DSH-GAN':>8} {'LSH':>8} {'ITQ':>8} {'/LSH':>6} {'/ITQ':>6}")
    for b in results["DSH-GAN"]:
        ours, lsh, itq = (results[m][b]["map"] for m in ("DSH-GAN", "LSH", "ITQ"))
        print(f"{b:>5} {ours:8.4f} {lsh:8.4f} {itq:8.4f} {ours / lsh:6.2f} {ours / itq:6.2f}")
    top = str(max(int(b) for b in results["DSH-GAN"]))
    beats = all(results["DSH-GAN"][top]["map"] > results[m][top]["map"] for m in ("LSH", "ITQ"))
    print(f"within budget: {wall <= BUDGET_S}; beats LSH and ITQ at {top} bits: {beats}")
    print(f"report: {run_dir}/report.md")
    return 0 if wall <= BUDGET_S and beats else 1


if __name__ == "__main__":
    sys.exit(main())
