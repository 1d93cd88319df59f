"""``dshgan gan-eval RUN``: how good is a run's stage-1 generator (dshgan.metrics.generative).

Reads the run back as it was trained: the generator from model.pt, the dataset named in
config.yaml (``--source`` etc. when it has moved), the split in RUN/split/, the labelled images
decoded at the run's hashing size (then brought to the generator's size, as the run did).
Prints the tables and writes RUN/gan_eval.json. ``--pixel-probe`` adds a second GAN-test whose
classifier is a small CNN trained from scratch on the real training pixels (``pixel_probe``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_gan_eval_parser(sub) -> None:
    # Defaults are resolved in run_gan_eval: importing the metrics here would load torch for
    # every `dshgan --help`.
    p = sub.add_parser("gan-eval", help="measure a run's generator: GAN-test, GAN-train, FID, "
                                        "intra-class diversity")
    p.add_argument("run", help="a run folder holding model.pt, config.yaml and split/")
    p.add_argument("--per-class", type=int, default=None,
                   help="synthetic images per class (default: DEFAULT_PER_CLASS, 100)")
    p.add_argument("--source", default=None, help="the run's dataset, if it has moved")
    p.add_argument("--list-dir", default=None, help="the run's list files, if they have moved")
    p.add_argument("--image-root", default=None)
    p.add_argument("--on", choices=("validation", "query"), default="validation",
                   help="real images GAN-train is scored on: validation (default), or the test "
                        "queries (for a final table only)")
    p.add_argument("--input-size", type=int, default=None,
                   help="the feature trunk's input size in px (default: DEFAULT_INPUT_SIZE, 64)")
    p.add_argument("--seed", type=int, default=None, help="default: the run's seed")
    p.add_argument("--pixel-probe", action="store_true",
                   help="also GAN-test with a small CNN trained from scratch on the real "
                        "training pixels, independent of the frozen features (single-label "
                        "runs only; about 2 CPU minutes on CIFAR-10)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=None, help="JSON file (default RUN/gan_eval.json)")


def run_gan_eval(args: argparse.Namespace) -> int:
    import numpy as np

    from dshgan.config import load_config
    from dshgan.data import read_split
    from dshgan.data.files import decode_part
    from dshgan.experiment import load_data
    from dshgan.metrics.generative import (
        DEFAULT_PER_CLASS,
        TrunkFeatures,
        evaluate_generator,
        pixel_gan_test,
        report_lines,
    )
    from dshgan.metrics.generative.features import DEFAULT_INPUT_SIZE
    from dshgan.model_io import load_trained_model
    from dshgan.train.runtime import resolve_device

    run = Path(args.run)
    per_class = DEFAULT_PER_CLASS if args.per_class is None else args.per_class
    input_size = DEFAULT_INPUT_SIZE if args.input_size is None else args.input_size
    if per_class < 2:
        raise ValueError(f"--per-class must be at least 2, got {per_class}")
    device = resolve_device(args.device)
    model = load_trained_model(run, device)
    if model.generator is None:
        raise ValueError(f"{run} has no generator to measure: it was trained without synthetic "
                         "images (hashing.use_synthetic: false)")
    if args.pixel_probe and model.multi_label:
        raise ValueError("--pixel-probe is for single-label runs only; this run is multi-label")
    moved = {k: getattr(args, k) for k in ("source", "list_dir", "image_root")
             if getattr(args, k) is not None}
    config = load_config(run / "config.yaml", {"data": moved} if moved else None)
    size = model.image_size[0]
    data = load_data(config, size)
    split = read_split(run / "split", data)
    parts = {}
    for part in ("train", args.on):
        decoded = decode_part(data, getattr(split, part), size)
        parts[part] = (decoded.images, np.asarray(data.labels[decoded.kept], np.uint8))
        if not len(decoded.kept):
            raise ValueError(f"the run's {part} part holds no readable image")
    seed = config.seed if args.seed is None else args.seed
    result = evaluate_generator(model.generator, *parts["train"], *parts[args.on],
                                model.multi_label, per_class=per_class, seed=seed,
                                device=device, heldout_name=args.on,
                                features=TrunkFeatures(device=device, input_size=input_size))
    if args.pixel_probe:
        result["pixel_probe"] = pixel_gan_test(
            model.generator, *parts["train"], *parts[args.on], model.multi_label,
            per_class=per_class, seed=seed, device=device, heldout_name=args.on)
    result["run"] = str(run)
    result["class_names"] = list(model.class_names)
    print(f"generator of {run} ({result['image_size']} px), {result['seconds']:.0f} s\n")
    print("\n".join(report_lines(result, model.class_names)))
    out = Path(args.out) if args.out else run / "gan_eval.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0
