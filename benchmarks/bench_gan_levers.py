"""Stage 1 alone on a protocol's split, then the generator metrics: one row of the GAN issue's
lever table (GAN-test, GAN-train on the validation images, FID with its real-vs-real value,
diversity per class), the synthetic grid and a JSON file per variant.

Stage 2 is not run: a lever of stage 1 is judged by what its generator makes, measured on the
validation images only (never the test queries). The budget is wall time on the target machine:
``--calibrate`` times a few steps of a variant and prints how many fit in ``--minutes`` (and the
CPU seconds per step, which compare variants fairly on a busy machine); the
lever runs then use that many ``--steps``, so they can run on a busy machine (or two at a time,
one thread each) and still be compared at the same budget.

    python benchmarks/bench_gan_levers.py --source ../shared/data/cifar10-jpg.tar.gz \\
        --name base --calibrate 40 --threads 2            # s/step, and steps in 20 minutes
    python benchmarks/bench_gan_levers.py --source ../shared/data/cifar10-jpg.tar.gz \\
        --name diffaug --steps 3000 --threads 1 --set gan.diff_augment=translation,cutout

A stopped variant resumes from its stage-1 checkpoint (OUT/NAME/stage1.pt) when rerun, and a
rerun with more ``--steps`` extends it (levers-STEPS.json keeps each length's figures).
``--pixel-probe`` adds a second GAN-test whose classifier is a small CNN trained from scratch on
the real training pixels (``dshgan.metrics.generative.pixel_probe``; about 2 more CPU minutes
on CIFAR-10), independent of the frozen features a feature-space discriminator trains against;
levers.json holds it under "pixel_probe".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import yaml
from machine_info import machine_line

from dshgan.config import load_config
from dshgan.data.bad_images import BadImages
from dshgan.experiment import draw_split, image_sizes, load_data, replace_config
from dshgan.metrics.generative import generator_report, pixel_gan_test
from dshgan.report.synthetic_grid import save_synthetic_grid
from dshgan.run_data import RunData
from dshgan.train.runtime import limit_threads, resolve_device, seed_everything
from dshgan.train.stage1_gan import train_gan


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True, help="the dataset (e.g. the CIFAR-10 archive)")
    p.add_argument("--config", default="cifar10", help="bundled config name or YAML file")
    p.add_argument("--name", required=True, help="the variant's name (its folder under --out)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--steps", type=int, default=None, help="stage-1 steps (default: config's)")
    p.add_argument("--calibrate", type=int, default=None, metavar="N",
                   help="time N steps (after 5 warm-up steps), print the steps that fit in "
                        "--minutes, and stop")
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/gan-levers")
    p.add_argument("--pixel-probe", action="store_true",
                   help="also GAN-test with a small CNN trained from scratch on the real "
                        "training pixels (single-label data only)")
    return p.parse_args(argv)


def overrides(items: list[str]) -> dict:
    out: dict = {}
    for item in items:
        key, value = item.split("=", 1)
        section, leaf = key.split(".", 1)
        out.setdefault(section, {})[leaf] = yaml.safe_load(value)
    return out


def prepare(args):
    """The config with the variant's settings, the device and the run's images (split drawn
    exactly as ``dshgan train`` draws it for the same config and seed)."""
    given = overrides(args.set)
    given.setdefault("data", {})["source"] = args.source
    config = load_config(args.config, given)
    if args.steps is not None:
        config = replace_config(config, gan={"steps": args.steps})
    limit_threads(args.threads)  # torch's and numba's together (numba's would reset torch's)
    device = resolve_device(config.device)
    seed_everything(args.seed)
    hash_size, gan_size = image_sizes(config)
    data = load_data(config, hash_size)
    split, _ = draw_split(config, data, None, args.seed)
    rd = RunData(data, split, hash_size, gan_size, BadImages(len(data)), seed=args.seed)
    return config, device, rd


def calibrate(config, device, rd, args) -> None:
    cfg = replace_config(config, gan={"steps": 5}).gan
    with _scratch(args) as scratch:
        train_gan(cfg, rd.gan_train_images, rd.part_labels("train"), rd.gan_unlabelled_images,
                  rd.multi_label, device, scratch / "warm.pt", seed=args.seed, progress=False)
        cfg = replace_config(config, gan={"steps": args.calibrate}).gan
        t0, cpu0 = time.perf_counter(), time.process_time()
        train_gan(cfg, rd.gan_train_images, rd.part_labels("train"), rd.gan_unlabelled_images,
                  rd.multi_label, device, scratch / "timed.pt", seed=args.seed, progress=False,
                  checkpoint_every=10 ** 9)
        per_step = (time.perf_counter() - t0) / args.calibrate
        cpu_per_step = (time.process_time() - cpu0) / args.calibrate
    fit = int(args.minutes * 60 / per_step)
    print(f"{args.name}: {per_step:.3f} s/step wall, {cpu_per_step:.3f} s/step CPU "
          f"({torch.get_num_threads()} threads); {fit} steps fit in {args.minutes:g} minutes "
          "(on a quiet machine; under load compare the CPU seconds of variants instead)")
    print(f"machine: {machine_line()}")


class _scratch:
    def __init__(self, args):
        self.path = Path(args.out) / args.name / "calibrate"

    def __enter__(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def __exit__(self, *exc) -> None:
        for f in self.path.glob("*.pt"):
            f.unlink()


def row(name: str, result: dict, steps: int, seconds: float | None) -> str:
    test, train, div = result["gan_test"], result["gan_train"], result["diversity"]
    known = [v for v in div["per_class"] if v is not None]
    lowest = min(v for v in test["per_class"] if v is not None)
    secs = "unknown" if seconds is None else f"{seconds:.0f}"  # None: an older checkpoint
    return (f"| {name} | {steps} | {secs} | {test['overall']:.3f} | {lowest:.3f} | "
            f"{train['overall']:.3f} | {result['real_classifier']['overall']:.3f} | "
            f"{result['fid']:.0f} ({result['fid_real_vs_real']:.0f}) | "
            f"{min(known):.2f} / {sum(known) / len(known):.2f} |")


def pixel_line(name: str, pixel: dict) -> str:
    test = pixel["gan_test"]
    lowest = min(v for v in test["per_class"] if v is not None)
    return (f"{name}: pixel-CNN GAN-test {test['overall']:.3f} (lowest class {lowest:.3f}), "
            f"pixel CNN on real {pixel['real_classifier_on']} "
            f"{pixel['real_classifier']['overall']:.3f}; {pixel['epochs']} epochs, "
            f"{pixel['seconds']:.0f} s")


def main(argv=None) -> int:
    args = parse_args(argv)
    config, device, rd = prepare(args)
    if args.pixel_probe and rd.multi_label:
        raise SystemExit("--pixel-probe is for single-label data only; this dataset is "
                         "multi-label")
    if args.calibrate:
        calibrate(config, device, rd, args)
        return 0
    folder = Path(args.out) / args.name
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / "stage1.pt"
    generator, _, history = train_gan(
        config.gan, rd.gan_train_images, rd.part_labels("train"), rd.gan_unlabelled_images,
        rd.multi_label, device, checkpoint, seed=args.seed, progress=sys.stderr.isatty())
    stage1_s = history.pop("train_seconds")  # every sitting's, also when resumed or extended
    result = generator_report(generator, rd.gan_train_images, rd.part_labels("train"),
                              rd.images("validation"), rd.part_labels("validation"),
                              rd.multi_label, device, args.seed)
    pixel = None
    if args.pixel_probe:
        # The same synthetic images as the linear probe's GAN-test (same seed, same count).
        pixel = pixel_gan_test(generator, rd.gan_train_images, rd.part_labels("train"),
                               rd.images("validation"), rd.part_labels("validation"),
                               rd.multi_label, per_class=result["sizes"]["per_class"],
                               seed=args.seed, device=device)
    save_synthetic_grid(generator, rd.class_names, folder / "synthetic_grid.png", args.seed,
                        device)
    record = {"name": args.name, "settings": args.set, "gan": config.gan.__dict__,
              "steps": config.gan.steps, "stage1_s": stage1_s,
              "threads": torch.get_num_threads(), "machine": machine_line(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "command": " ".join(sys.argv), "generator": result,
              **({"pixel_probe": pixel} if pixel is not None else {}),
              "last_100_steps": {k: sum(v[-100:]) / len(v[-100:]) for k, v in history.items()
                                 if v}}
    text = json.dumps(record, indent=1, default=str)
    (folder / "levers.json").write_text(text)
    # Rerun with more --steps, a variant extends its stage 1: each length keeps its figures.
    (folder / f"levers-{config.gan.steps}.json").write_text(text)
    print("| variant | steps | stage 1 s | GAN-test | lowest class | GAN-train (val) | real probe "
          "(val) | FID (real vs real) | diversity min / mean |")
    print(row(args.name, result, config.gan.steps, stage1_s))
    if pixel is not None:
        print(pixel_line(args.name, pixel))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
