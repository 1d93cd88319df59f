"""Issue 4's two targets, read from the results of ``dshgan reproduce``: DSH-GAN's mAP at or
above the paper's at every code length, and the DSH-GAN part within 100 minutes.

    dshgan reproduce cifar10 --source ../shared/data/cifar10-jpg.tar.gz --out OUT \\
        --no-ablations --no-baselines --threads 2
    python benchmarks/bench_paper_table.py OUT/results.json

The wall time is that of the invocation that wrote the file, so time the DSH-GAN part with a
fresh ``--out`` and ``--no-ablations --no-baselines`` (later invocations into the same folder
rewrite it). Prints ours / paper per length (mean over seeds, with the seed count) and the time
against the budget; exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys

BUDGET_S = 100 * 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="results.json written by dshgan reproduce")
    parser.add_argument("--method", default="DSH-GAN", help="our row to compare (default DSH-GAN)")
    args = parser.parse_args()
    with open(args.results) as fh:
        results = json.load(fh)
    paper = (results.get("paper") or {}).get("DSH-GANs")
    if not paper:
        print(f"{args.results}: protocol {results.get('protocol')!r} has no paper row")
        return 2
    ours = results["table"].get(args.method)
    if not ours:
        print(f"{args.results}: no {args.method!r} row; rows: {sorted(results['table'])}")
        return 2
    print(f"protocol {results['protocol']}, machine {results['machine']}, date {results['date']}")
    print(f"{'bits':>5} {'ours':>7} {'± std':>7} {'seeds':>5} {'paper':>7} {'ours/paper':>10}")
    ok = True
    for bits in sorted(ours, key=int):
        cell = ours[bits]
        ref = paper.get(bits)  # JSON keys are strings
        if ref is None:
            continue
        std = f"{cell['map_std']:.3f}" if cell.get("map_std") is not None else "-"
        ratio = cell["map"] / ref
        ok &= ratio >= 1.0
        print(f"{bits:>5} {cell['map']:7.3f} {std:>7} {len(cell['seeds']):5d} {ref:7.3f} "
              f"{ratio:10.3f}")
    wall = results["wall_s"]
    print(f"wall time of this invocation: {wall / 60:.1f} min against the {BUDGET_S / 60:.0f}-min "
          f"budget ({wall / BUDGET_S:.2f} of it)")
    ok &= wall <= BUDGET_S
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
