"""Training throughput on 1 and N processes (torchrun): stage-1 and stage-2 steps per second.

    python benchmarks/bench_train_processes.py            # 1 and 2 processes, 30 steps each
    python benchmarks/bench_train_processes.py --quick    # 4 steps: checks that it runs

Each count of processes is one ``torchrun --standalone --nproc-per-node N`` launch of this file
(``--worker``), every process with ``--threads`` torch threads (default 1, so N processes use N
cores). The worker loads the ``--config`` (default: configs/demo-small-cnn.yaml, the bundled
sample with the small CNN, batch 64, as docs/scaling.md measured it) as ``dshgan train`` does, then times ``--steps`` stage-1 steps (``gan_step``) and stage-2
steps (``train_step``, synthetic triplets, the generator updated) after two warm-up steps of
each, between barriers; the global batch is the config's, split across the processes, so a
step is the same work whatever N. images/s counts the images a step pushes through its nets:
stage 1 three per batch row (labelled, unlabelled, synthetic), stage 2 three per anchor.
Start-up, data loading, validation and evaluation are not timed. Prints a markdown table with
the machine, date and command.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def worker(config_name: str, steps: int, out: str) -> None:
    import torch

    from dshgan.config import load_config
    from dshgan.data.bad_images import BadImages
    from dshgan.experiment import draw_split, image_sizes, load_data
    from dshgan.run_data import RunData
    from dshgan.train import distributed
    from dshgan.train.gan_state import GANState
    from dshgan.train.gan_step import GANData, gan_step
    from dshgan.train.hashing_data import HashingData
    from dshgan.train.hashing_losses import hashing_losses
    from dshgan.train.hashing_setup import build_hashing_net
    from dshgan.train.hashing_step import HashingUpdate
    from dshgan.train.stage2_hashing import HISTORY_KEYS, train_step
    from dshgan.train.triplet_sources import triplet_source

    config = load_config(config_name, {"device": "cpu"})
    cpu = torch.device("cpu")
    with distributed.training_group("cpu"):
        torch.manual_seed(distributed.rank_seed(0))
        hash_size, gan_size = image_sizes(config)
        data = load_data(config, hash_size)
        split, _ = draw_split(config, data, None, 0)
        rd = RunData(data, split, hash_size, gan_size, BadImages(len(data)), 0, False, 0)
        train_x, train_y = rd.images("train"), rd.part_labels("train")

        state = GANState(config.gan, train_y.shape[1], gan_size, cpu, distributed.rank_seed(0))
        distributed.broadcast_modules(state.generator, state.discriminator)
        gan_data = GANData(rd.gan_train_images, train_y, rd.gan_unlabelled_images,
                           rd.multi_label)
        stage1 = _timed(lambda: gan_step(state, gan_data, cpu), steps, distributed)

        h = config.hashing
        net = build_hashing_net(h, list(h.bits), train_y.shape[1]).to(cpu)
        distributed.broadcast_modules(net)
        update = HashingUpdate(h, net, state.generator, cpu, total_steps=steps + 2)
        hashing = HashingData(train_x, train_y, rd.images("validation"),
                              rd.part_labels("validation"), rd.multi_label)
        rng = torch.Generator().manual_seed(distributed.rank_seed(0) + 1)
        source = triplet_source(h, hashing, net, state.generator, rng, cpu, 0)
        losses = hashing_losses(h, rd.multi_label, None, rng, cpu)
        order = distributed.epoch_order(len(train_x), rng, 0, 0)
        history = {k: [] for k in HISTORY_KEYS}
        share = distributed.batch_share(h.batch_size)
        net.train()

        batches = itertools.count()

        def stage2_step():
            start = (next(batches) * h.batch_size) % (len(order) - h.batch_size + 1)
            train_step(net, order[start:start + h.batch_size][share], source, losses, update,
                       history)

        stage2 = _timed(stage2_step, steps, distributed)
        if distributed.is_main():
            Path(out).write_text(json.dumps({
                "processes": distributed.world_size(), "threads": torch.get_num_threads(),
                "stage1_s": stage1, "stage2_s": stage2, "steps": steps,
                "gan_batch": config.gan.batch_size, "hashing_batch": h.batch_size}))


def _timed(step, steps: int, distributed) -> float:
    for _ in range(2):  # warm-up: first calls allocate
        step()
    distributed.barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    distributed.barrier()
    return time.perf_counter() - t0


def launch(processes: int, threads: int, config: str, steps: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc-per-node", str(processes), __file__, "--worker", "--config",
                        config, "--steps", str(steps), "--out", str(out)],
                       env=env, check=True)
        return json.loads(out.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--config", default=str(Path(__file__).parent / "configs" /
                                           "demo-small-cnn.yaml"))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--quick", action="store_true", help="4 steps: checks that it runs")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    steps = 4 if args.quick else args.steps
    if args.worker:
        worker(args.config, steps, args.out)
        return
    rows = [launch(n, args.threads, args.config, steps) for n in args.processes]
    base = rows[0]
    print(f"\n{platform.node()} {platform.machine()}, {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')}; `python benchmarks/bench_train_processes.py "
          f"{' '.join(sys.argv[1:])}`; config {args.config}, {steps} timed steps per stage\n")
    print("| processes | threads each | stage 1 steps/s | images/s | stage 2 steps/s | images/s "
          "| speed-up: stage 1, 2 |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        s1, s2 = r["steps"] / r["stage1_s"], r["steps"] / r["stage2_s"]
        up1, up2 = base["stage1_s"] / r["stage1_s"], base["stage2_s"] / r["stage2_s"]
        print(f"| {r['processes']} | {r['threads']} | {s1:.2f} | {s1 * 3 * r['gan_batch']:,.0f} "
              f"| {s2:.2f} | {s2 * 3 * r['hashing_batch']:,.0f} | {up1:.2f}x, {up2:.2f}x |")


if __name__ == "__main__":
    main()
