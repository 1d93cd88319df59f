"""Score the kept epoch of a `dshgan reproduce` checkpoint on both validation views.

Runs trained before the leave-one-out view was logged (stage 2 logs it since 2026-11-29) can be
compared with newer ones this way. Only the validation split is encoded: never the test queries.

    python scripts/score_validation.py RUN_DIR --seed 0 \\
        --source ../shared/data/cifar10-jpg.tar.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="the --out folder of dshgan reproduce")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", required=True, help="the --source the run was given")
    parser.add_argument("--checkpoint", default=None,
                        help="file under RUN_DIR/seedN/checkpoints (default: the only one there)")
    args = parser.parse_args()

    import torch

    from dshgan.config import load_config
    from dshgan.data import get_protocol, load_dataset, make_split
    from dshgan.model_io import load_reproduce_checkpoint
    from dshgan.train.validation import validation_maps

    config = load_config(args.run_dir / "config.yaml")
    device = torch.device("cpu")
    dataset = load_dataset(args.source, image_size=config.data.image_size)
    split = make_split(dataset, get_protocol(config.data.protocol), seed=args.seed)
    try:
        net, state = load_reproduce_checkpoint(args.run_dir, args.seed, dataset.num_classes,
                                               args.checkpoint, device)
    except (FileNotFoundError, ValueError) as error:
        print(error)
        return 2
    train = split.train
    val_x, val_y = dataset.images[split.validation], dataset.labels[split.validation]
    against_train, loo = validation_maps(net, dataset.images[train], dataset.labels[train], val_x,
                                         val_y, device)
    print(json.dumps({
        "checkpoint": state["path"], "epochs": state["epoch"],
        "validation_vs_training": {b: round(v, 4) for b, v in against_train.items()},
        "validation_leave_one_out": {b: round(v, 4) for b, v in loo.items()},
        "means": [round(float(np.mean(list(d.values()))), 4) for d in (against_train, loo)],
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
