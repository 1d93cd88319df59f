"""The ``dshgan reproduce`` subcommand: argument parsing only; the work is in reproduce.py."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_reproduce_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="the paper's table: DSH-GAN, ablations and baselines")
    p.add_argument("protocol", choices=["cifar10", "cifar10-1", "nuswide21"])
    p.add_argument("--source", default=None,
                   help="image folder/archive or the CIFAR-10 python archive")
    p.add_argument("--list-dir", default=None, help="list files (NUS-WIDE style)")
    p.add_argument("--image-root", default=None, help="root folder of the list files' images")
    p.add_argument("--config", default=None,
                   help="YAML config (default: the bundled one named after the protocol)")
    p.add_argument("--out", default=None, help="output folder (default runs/reproduce-PROTOCOL)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--bits", type=int, nargs="+", default=[12, 24, 32, 48])
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="smoke run: tiny budget, small CNN")
    p.add_argument("--no-ablations", action="store_true")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--deep-baselines", nargs="*", default=None, metavar="NAME",
                   help="deep baselines to train (default: the config's, dpsh dtsh); "
                        "give none to skip them")
    p.add_argument("--rows", nargs="+", default=None, metavar="ROW",
                   help="train only these rows (e.g. \"generator frozen\" DPSH); rows finished "
                        "earlier in --out are still reported")
    p.add_argument("--baselines-every-seed", action="store_true",
                   help="train the baselines on every seed of --seeds, not only the first "
                        "(a deep baseline's mean over the same seeds as DSH-GAN's)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--validation-only", action="store_true",
                   help="train the main method's nets and log validation, then stop without "
                        "touching the test queries (compare runs with "
                        "scripts/compare_validation.py); rerun without it to evaluate")


def run_reproduce(args: argparse.Namespace) -> int:

    from dshgan.config import load_config
    from dshgan.reproduce import reproduce
    from dshgan.train.runtime import limit_threads

    if args.source is None and args.list_dir is None:
        raise ValueError("reproduce needs --source (or --list-dir and --image-root)")
    limit_threads(args.threads)
    out = args.out or f"runs/reproduce-{args.protocol}"
    config = load_config(args.config or args.protocol, {
        "device": args.device, "hashing": {"bits": list(args.bits)},
        **({"evaluation": {"deep_baselines": args.deep_baselines}}
           if args.deep_baselines is not None else {}),
        "data": {"source": args.source, "list_dir": args.list_dir,
                 "image_root": args.image_root}})
    results = reproduce(args.protocol, out, source=args.source, list_dir=args.list_dir,
                        image_root=args.image_root, seeds=tuple(args.seeds),
                        bits=tuple(args.bits), device=args.device, quick=args.quick,
                        ablations=not args.no_ablations, baselines=not args.no_baselines,
                        progress=not args.no_progress, config=config,
                        rows=tuple(args.rows) if args.rows else None,
                        validation_only=args.validation_only,
                        baselines_every_seed=args.baselines_every_seed)
    from dshgan.distributed import torchrun_world

    world = torchrun_world()
    if world is not None and not world.is_main:  # under torchrun, rank 0 prints
        return 0
    if args.validation_only:
        print(f"validation only: checkpoints and validation logs in {out}/")
        return 0
    print(Path(out, "results.md").read_text())
    print(f"wall time {results['wall_s'] / 60:.1f} min; results in {out}/")
    return 0
