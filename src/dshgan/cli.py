"""The ``dshgan`` command: parses arguments and calls the library, nothing more."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml


def _add_run_options(p: argparse.ArgumentParser, default_run_dir: str | None) -> None:
    p.add_argument("--run-dir", default=default_run_dir, help="folder for this run's outputs")
    p.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--bits", type=int, nargs="+", default=None, help="code lengths, e.g. 12 48")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--resume", action="store_true", help="continue a stopped run in --run-dir")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value (YAML syntax), e.g. --set hashing.epochs=3")
    p.add_argument("--dry-run", action="store_true",
                   help="tiny made-up data and a few steps: proves the whole path in seconds")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dshgan", description="Deep Semantic Hashing with GANs: binary codes for image search")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="both stages on the bundled CIFAR-10 sample, with a report")
    _add_run_options(demo, "runs/demo")

    train = sub.add_parser("train", help="train and evaluate from a config (YAML or bundled name)")
    train.add_argument("--config", required=True, help="YAML file, or demo/cifar10/nuswide21...")
    train.add_argument("--source", default=None, help="dataset: folder, archive, CIFAR-10 archive")
    train.add_argument("--list-dir", default=None, help="folder of list files (multi-label sets)")
    train.add_argument("--image-root", default=None, help="root of the list files' images")
    train.add_argument("--protocol", default=None,
                       help="split: a protocol name or auto (sized from the smallest class)")
    train.add_argument("--split", dest="split_dir", default=None,
                       help="a split folder written by `dshgan data prepare`, used as it is")
    train.add_argument("--train-only", action="store_true",
                       help="no test queries: train, validate, save model.pt (for indexing)")
    train.add_argument("--on-bad-image", choices=("skip", "fail"), default=None,
                       help="an undecodable image: skip and list it (default) or stop")
    _add_run_options(train, None)

    data = sub.add_parser("data", help="dataset tools")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    prepare = data_sub.add_parser("prepare", help="read a dataset and write a protocol's splits")
    prepare.add_argument("protocol", help="cifar10, cifar10-1, nuswide21, demo, or auto")
    prepare.add_argument("--source", default=None, help="folder, archive or CIFAR-10 archive")
    prepare.add_argument("--list-dir", default=None)
    prepare.add_argument("--image-root", default=None)
    prepare.add_argument("--out", required=True, help="folder for the split list files")
    prepare.add_argument("--seed", type=int, default=0)
    example = data_sub.add_parser(
        "example-folder", help="write the bundled sample as labelled/<class>/ + unlabelled/")
    example.add_argument("out", help="folder to create (must not exist)")
    example.add_argument("--labelled-per-class", type=int, default=30)

    encode = sub.add_parser("encode", help="images to binary codes with a trained run")
    encode.add_argument("run", help="a run folder holding model.pt")
    encode.add_argument("--images", required=True, help="image folder or archive")
    encode.add_argument("--bits", type=int, required=True)
    encode.add_argument("--out", required=True,
                        help=".npy file for the {0,1} codes (names go to OUT.names.txt)")
    encode.add_argument("--device", default="auto")
    encode.add_argument("--on-bad-image", choices=("skip", "fail"), default="skip")

    from dshgan.reproduce_cli import add_reproduce_parser

    add_reproduce_parser(sub)
    from dshgan.index_cli import add_index_parsers

    add_index_parsers(sub)
    from dshgan.gan_eval_cli import add_gan_eval_parser

    add_gan_eval_parser(sub)
    from dshgan.serve_cli import add_serve_parser

    add_serve_parser(sub)
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    out: dict = {}
    for item in args.set:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise SystemExit(f"--set expects SECTION.KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    for key, section, field in (("device", None, "device"), ("seed", None, "seed"),
                                ("threads", None, "num_threads"), ("bits", "hashing", "bits")):
        value = getattr(args, key, None)
        if value is not None:
            (out.setdefault(section, {}) if section else out)[field] = value
    for key in ("source", "list_dir", "image_root", "protocol", "split_dir", "on_bad_image"):
        value = getattr(args, key, None)
        if value is not None:
            out.setdefault("data", {})[key] = value
    if getattr(args, "train_only", False):
        out.setdefault("data", {})["query_per_class"] = 0
    return out


def _run(config_name: str, args: argparse.Namespace) -> int:
    from dshgan.config import load_config
    from dshgan.experiment import run_experiment

    config = load_config(config_name, _overrides(args))
    run_dir = Path(args.run_dir or f"runs/{config.name}")
    dataset = protocol = None
    if args.dry_run:
        from dshgan.dry_run import dry_run_setup

        config, dataset, protocol = dry_run_setup(config)
    metrics = run_experiment(config, run_dir, resume=args.resume, progress=not args.no_progress,
                             dataset=dataset, protocol=protocol)
    from dshgan.distributed import torchrun_world

    world = torchrun_world()
    if world is None or world.is_main:  # under torchrun, rank 0 prints
        _print_summary(metrics, run_dir)
    return 0


def _print_summary(metrics: dict, run_dir: Path) -> None:
    results = metrics["results"]
    if not results:
        print(f"\ntrain only (no test queries): validation mAP {metrics['validation']}")
        print(f"model: {run_dir / 'model.pt'}\nreport: {run_dir / 'report.md'}")
        return
    bits = list(next(iter(results.values())).keys())
    print(f"\nmAP ({metrics['protocol']}, top {metrics['topk'] or 'all'}):")
    print("method".ljust(10) + "".join(f"{b + ' bits':>10}" for b in bits))
    for method, per_bits in results.items():
        print(method.ljust(10) + "".join(f"{per_bits[b]['map']:>10.4f}" for b in bits))
    print(f"\nreport: {run_dir / 'report.md'}")


def _prepare(args: argparse.Namespace) -> int:
    from dshgan.data import prepare

    split = prepare(args.protocol, source=args.source, out_dir=args.out, seed=args.seed,
                    list_dir=args.list_dir, image_root=args.image_root)
    print(f"wrote {args.protocol} split (seed {args.seed}) to {args.out}: "
          f"{len(split.query)} queries, {len(split.train)} train, "
          f"{len(split.validation)} validation, {len(split.database)} database")
    return 0


def _encode(args: argparse.Namespace) -> int:
    """Codes of every image under a folder (streamed, so any size) and their names beside."""
    import numpy as np

    from dshgan.data.bad_images import BadImages
    from dshgan.data.files import part_batches
    from dshgan.data.open_source import open_images
    from dshgan.io_utils import atomic_write_text
    from dshgan.model_io import load_trained_model
    from dshgan.train.encoding import encode_images
    from dshgan.train.runtime import resolve_device

    device = resolve_device(args.device)
    model = load_trained_model(args.run, device)
    net = model.net_for(args.bits)
    size = model.image_size[0]
    data = open_images(args.images, size)
    bad = BadImages(len(data), args.on_bad_image)
    codes, names = [], []
    for batch in part_batches(data, np.arange(len(data)), size, progress=True, desc="encode"):
        for i, message in batch.failures:
            bad.record(data.names[i], message)
        codes.append(encode_images(net, batch.images, device)[args.bits])
        names.extend(data.names[i] for i in batch.kept)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, np.concatenate(codes))
    names_path = out.with_suffix(".names.txt")
    atomic_write_text(names_path, "".join(f"{n}\n" for n in names))
    print(f"wrote {len(names)} codes of {args.bits} bits to {out}, their image names (row "
          f"order) to {names_path}; {bad.summary()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dshgan.data.heap import tune_allocator

    tune_allocator()  # torch's large per-batch buffers stay in the heap (data/heap.py)
    try:
        if args.command == "demo":
            return _run("demo", args)
        if args.command == "train":
            return _run(args.config, args)
        if args.command == "data" and args.data_command == "example-folder":
            from dshgan.data.example_folder import write_example_folder

            out = write_example_folder(args.out, args.labelled_per_class)
            print(f"wrote {out}: labelled/<class>/ ({args.labelled_per_class} per class) and "
                  "unlabelled/")
            return 0
        if args.command == "data":
            return _prepare(args)
        if args.command == "encode":
            return _encode(args)
        if args.command == "reproduce":
            from dshgan.reproduce_cli import run_reproduce

            return run_reproduce(args)
        if args.command in ("index", "search"):
            from dshgan.index_cli import run_index_command

            return run_index_command(args)
        if args.command == "gan-eval":
            from dshgan.gan_eval_cli import run_gan_eval

            return run_gan_eval(args)
        if args.command == "serve":
            from dshgan.serve_cli import run_serve

            return run_serve(args)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as err:
        print(f"dshgan: error: {err}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
