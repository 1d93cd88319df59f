"""Analysis, not model selection: does the gap between two runs depend on the database size?

Reads the TEST queries, so use it only on runs whose test numbers were already read, to study
the validation method (why a 500-image leave-one-out validation and the 54,000-image test can
disagree), never to choose a configuration. For one seed, the kept net of each run encodes the
queries and a random draw of unseen database images (the labelled training images left out);
mAP is computed against all of that draw and against many random 500-image subsets of it (the
size of the leave-one-out validation database).

    python scripts/database_size_check.py runs/plus3 runs/plus128 --seed 0 \\
        --source ../shared/data/cifar10-jpg.tar.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def mean_over_bits_map(q_codes, q_labels, db_codes, db_labels, pick=None) -> float:
    from dshgan.metrics import mean_average_precision

    pick = slice(None) if pick is None else pick
    return float(np.mean([mean_average_precision(q_codes[b], q_labels, db_codes[b][pick],
                                                 db_labels[pick]) for b in q_codes]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs=2, help="two --out folders of dshgan reproduce")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", required=True)
    parser.add_argument("--database", type=int, default=10_000, help="unseen images drawn")
    parser.add_argument("--small", type=int, default=500, help="size of the small databases")
    parser.add_argument("--draws", type=int, default=20, help="small databases drawn")
    args = parser.parse_args()

    import torch

    from dshgan.config import load_config
    from dshgan.data import get_protocol, load_dataset, make_split
    from dshgan.model_io import load_reproduce_checkpoint
    from dshgan.train.encoding import encode_images

    config = load_config(args.runs[0] / "config.yaml")
    dataset = load_dataset(args.source, image_size=config.data.image_size)
    split = make_split(dataset, get_protocol(config.data.protocol), seed=args.seed)
    rng = np.random.default_rng(args.seed)
    unseen = np.setdiff1d(split.database, split.train)
    draw = np.sort(rng.choice(unseen, min(args.database, len(unseen)), replace=False))
    smalls = [rng.choice(len(draw), args.small, replace=False) for _ in range(args.draws)]
    q_labels, db_labels = dataset.labels[split.query], dataset.labels[draw]
    out = {}
    for run in args.runs:  # the same draws for both runs: the differences are paired
        net, _ = load_reproduce_checkpoint(run, args.seed, dataset.num_classes)
        q = encode_images(net, dataset.images[split.query], torch.device("cpu"))
        db = encode_images(net, dataset.images[draw], torch.device("cpu"))
        small = [mean_over_bits_map(q, q_labels, db, db_labels, p) for p in smalls]
        out[str(run)] = {"large": mean_over_bits_map(q, q_labels, db, db_labels),
                         "small": small}
    a, b = (out[str(r)] for r in args.runs)
    diffs = np.subtract(b["small"], a["small"])
    print(json.dumps({
        "seed": args.seed, "queries": len(split.query), "large_database": len(draw),
        "small_database": args.small, "draws": args.draws,
        **{str(r): {"large": round(out[str(r)]["large"], 4),
                    "small_mean": round(float(np.mean(out[str(r)]["small"])), 4),
                    "small_std": round(float(np.std(out[str(r)]["small"])), 4)}
           for r in args.runs},
        "difference_large": round(b["large"] - a["large"], 4),
        "difference_small_mean": round(float(diffs.mean()), 4),
        "difference_small_std": round(float(diffs.std()), 4),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
