"""Peak memory of ``dshgan train`` on a folder of 2,000 labelled and 50,000 unlabelled images.

Target (own-images issue): training from a folder of 2,000 labelled and 50,000 unlabelled
images peaks under 4 GB.

    python benchmarks/bench_train_memory.py                       # gan.steps=100, 1 epoch
    python benchmarks/bench_train_memory.py --gan-steps 300 --epochs 2

The folder (``<work>/train-folder``, built once) is CIFAR-10 from the shared benchmark archive,
as symbolic links: ``labelled/<class>/`` holds the first 200 training images of each class,
``unlabelled/<split>/<class>/`` 50,000 of the others (nested folders; their classes are not
used). The real command runs in a subprocess, with the bundled ``photos`` config (Lite0 at
128 px, GAN at 32 px, automatic split): only the step counts are shortened (``--set``), so the
data it holds (labelled parts at 128 px, the 50,000-image GAN pool at 32 px, the streamed
database) is the real thing. Memory: the ``dshgan`` process's peak RSS (the kernel's, via
``RUSAGE_CHILDREN``, and its sampled VmHWM), its decoding workers' peaks, their sum, and the
peak summed PSS of the whole process tree (shared pages counted once).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_folder_encoding import (
    CIFAR,
    MB,
    MemorySampler,
    cifar_files,
    cifar_folder,
    emit,
    git_state,
    machine,
)

TARGET_MB = 4000
LABELLED_PER_CLASS = 200
UNLABELLED = 50_000


def build_train_folder(work: Path, cifar: Path) -> Path:
    """labelled/<class>/ (200 each) and unlabelled/<split>/<class>/ (50,000): links, once."""
    out = work / "train-folder"
    done = work / "train-folder.done"
    if done.exists():
        return out
    if out.exists():
        shutil.rmtree(out)
    src = cifar_folder(work, cifar)
    files = cifar_files(src)
    taken: dict[str, int] = {}
    rest = []
    for f in files:
        split, cname = f.relative_to(src).parts[:2]
        if split == "train" and taken.get(cname, 0) < LABELLED_PER_CLASS:
            taken[cname] = taken.get(cname, 0) + 1
            target = out / "labelled" / cname / f.name
        else:
            rest.append(f)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(f)
    if len(rest) < UNLABELLED:
        raise SystemExit(f"only {len(rest)} images left for the unlabelled pool")
    for f in rest[:UNLABELLED]:
        target = out / "unlabelled" / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(f)
    done.write_text(f"{sum(taken.values())} labelled, {UNLABELLED} unlabelled\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/dshgan-bench"),
                        help="folder for the extracted images, the link folder and the runs")
    parser.add_argument("--cifar", type=Path, default=CIFAR, help="cifar10-jpg.tar.gz")
    parser.add_argument("--gan-steps", type=int, default=100, help="stage 1 steps (config: 1500)")
    parser.add_argument("--epochs", type=int, default=1, help="stage 2 epochs (config: 30)")
    parser.add_argument("--interval", type=float, default=0.25, help="memory sampling period, s")
    args = parser.parse_args()

    emit(f"machine: {machine()}")
    emit(f"code: dshgan {git_state(Path(__file__).resolve().parents[1])}")
    folder = build_train_folder(args.work, args.cifar)
    run_dir = args.work / f"train-run-{time.strftime('%Y%m%d-%H%M%S')}"
    dshgan = Path(sys.executable).with_name("dshgan")
    cmd = [str(dshgan) if dshgan.exists() else "dshgan", "train", "--config", "photos",
           "--source", str(folder), "--protocol", "auto", "--run-dir", str(run_dir),
           "--no-progress", "--set", f"gan.steps={args.gan_steps}",
           "--set", f"hashing.epochs={args.epochs}"]
    emit(f"folder: {folder} ({(args.work / 'train-folder.done').read_text().strip()}; links)")
    emit(f"command: {' '.join(cmd)}")
    emit("budget: only gan.steps and hashing.epochs shortened; everything else the photos "
         "config (bits 12/24/32/48, baselines lsh/itq/sdh on backbone features)")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = MemorySampler(proc.pid, args.interval)
    sampler.start()
    log = proc.stdout.read()
    code = proc.wait()
    wall = time.perf_counter() - t0
    sampler.stop()
    if code:
        sys.stdout.write(log[-4000:])
        raise SystemExit(f"dshgan train failed (exit {code})")
    kernel_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / MB
    main_mb = max(kernel_mb, sampler.own_peak_kb * 1024 / MB)
    workers = sorted(sampler.child_peak_kb.values(), reverse=True)
    total = main_mb + sampler.children_sum_mb
    metrics = json.loads((run_dir / "metrics.json").read_text())
    emit()
    emit("what the run did (its train.log):")
    logged = run_dir / "train.log"
    for line in (logged.read_text() if logged.exists() else log).splitlines():
        if any(k in line for k in ("data:", "images:", "run done", "stage", "epoch")):
            emit(f"    {line.strip()[:200]}")
    emit(f"dataset: {metrics.get('dataset')}; protocol {metrics.get('protocol')}; "
         f"timing {metrics.get('timing')}")
    emit()
    emit("| figure | value |")
    emit("| :--- | ---: |")
    emit(f"| wall time, s | {wall:.0f} |")
    emit(f"| dshgan process peak RSS, MB (kernel, RUSAGE_CHILDREN) | {kernel_mb:.0f} |")
    emit(f"| dshgan process peak RSS, MB (sampled VmHWM; first seen at {sampler.own_peak_at:.0f} s)"
         f" | {sampler.own_peak_kb * 1024 / MB:.0f} |")
    emit(f"| decoding workers seen / their peaks summed, MB | {len(workers)} / "
         f"{sampler.children_sum_mb:.0f} |")
    emit(f"| largest worker peak, MB | {(workers[0] if workers else 0) * 1024 / MB:.0f} |")
    emit(f"| main + all workers' peaks, MB (upper bound) | {total:.0f} |")
    emit(f"| largest concurrent RSS of the tree, MB | {sampler.tree_rss_kb * 1024 / MB:.0f} |")
    emit(f"| peak PSS of the tree, MB (at {sampler.tree_pss_at:.0f} s) | "
         f"{sampler.tree_pss_kb * 1024 / MB:.0f} |")
    emit()
    verdict = "met" if max(total, sampler.tree_pss_kb * 1024 / MB) < TARGET_MB else "MISSED"
    emit(f"target: peak under {TARGET_MB} MB: {verdict} (on the upper bound, main + workers "
         f"{total:.0f} MB); run folder {run_dir}")


if __name__ == "__main__":
    main()
