"""Compare two `dshgan reproduce` runs on validation only, pooled over seeds, with a paired bootstrap.

For each seed, the kept net of each run encodes that seed's validation images; every image gets
its leave-one-out AP (ranked against the other validation images), averaged over the code
lengths both runs have. The pooled means, their difference (B - A) and a bootstrap interval that
resamples the validation images within each seed (the same images for A and B) are printed.
Why: one seed's 500 validation images could not separate 96 from 128 px
(docs/experiments/2026-11-29-cifar10-plus-levers.md, "Sixth run"); pooling seeds triples the
images, and the interval says whether that is enough. Only the validation split is encoded,
never the test queries, so this is safe for model selection.
``--flip-average-b`` encodes B with flip-averaged codes, to weigh that test-time augmentation
(A and B may then be the same run). ``--weights-a/-b`` compare other weights of a checkpoint:
the raw ones after the last epoch, or the weight average after it (A and B may be one run).

    python scripts/compare_validation.py runs/plus3 runs/plus128 --seeds 0 1 2 \\
        --source ../shared/data/cifar10-jpg.tar.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from dshgan.model_io import CHECKPOINT_WEIGHTS


def per_image_loo_ap(net, images, labels, bits: list[int], device,
                     flip_average: bool = False) -> np.ndarray:
    """Each validation image's leave-one-out AP, averaged over ``bits``."""
    from dshgan.metrics import leave_one_out_average_precisions
    from dshgan.train.encoding import encode_images

    codes = encode_images(net, images, device, flip_average=flip_average)
    return np.mean([leave_one_out_average_precisions(codes[b], labels) for b in bits], axis=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path, help="the --out folder of the first run (A)")
    parser.add_argument("run_b", type=Path, help="the --out folder of the second run (B)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--source", required=True, help="the --source both runs were given")
    parser.add_argument("--flip-average-b", action="store_true",
                        help="encode B with flip-averaged codes (A may be the same run)")
    parser.add_argument("--weights-a", default="kept", choices=CHECKPOINT_WEIGHTS,
                        help="kept (the epoch validation chose), last (raw weights after the "
                             "last epoch) or last-average (the weight average after it)")
    parser.add_argument("--weights-b", default="kept", choices=CHECKPOINT_WEIGHTS)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args()

    import torch

    from dshgan.config import load_config
    from dshgan.data import get_protocol, load_dataset, make_split
    from dshgan.metrics.paired_bootstrap import paired_bootstrap_difference
    from dshgan.model_io import load_reproduce_checkpoint

    configs = [load_config(r / "config.yaml") for r in (args.run_a, args.run_b)]
    if configs[0].data != configs[1].data:
        print(f"the runs used different data settings: {configs[0].data} and {configs[1].data}")
        return 2
    device = torch.device("cpu")
    dataset = load_dataset(args.source, image_size=configs[0].data.image_size)
    groups: dict[str, list[np.ndarray]] = {"a": [], "b": []}
    per_seed = {}
    for seed in args.seeds:
        split = make_split(dataset, get_protocol(configs[0].data.protocol), seed=seed)
        images, labels = dataset.images[split.validation], dataset.labels[split.validation]
        nets = [load_reproduce_checkpoint(r, seed, dataset.num_classes, device=device,
                                          weights=w)[0]
                for r, w in ((args.run_a, args.weights_a), (args.run_b, args.weights_b))]
        bits = sorted(set(nets[0].bits) & set(nets[1].bits))
        if not bits:
            print(f"seed {seed}: the runs share no code length ({nets[0].bits}, {nets[1].bits})")
            return 2
        for key, net in zip("ab", nets):
            flip = key == "b" and args.flip_average_b
            groups[key].append(per_image_loo_ap(net, images, labels, bits, device, flip))
        per_seed[seed] = {"bits": "/".join(map(str, bits)), "a": round(float(groups["a"][-1].mean()), 4),
                          "b": round(float(groups["b"][-1].mean()), 4)}
    r = paired_bootstrap_difference(groups["a"], groups["b"], args.resamples, args.confidence)
    print(json.dumps({
        "a": str(args.run_a), "b": str(args.run_b), "b_flip_averaged": args.flip_average_b,
        "weights_a": args.weights_a, "weights_b": args.weights_b,
        "view": "validation leave-one-out mAP",
        "per_seed": per_seed, "pooled_a": round(r.mean_a, 4), "pooled_b": round(r.mean_b, 4),
        "difference_b_minus_a": round(r.difference, 4),
        f"interval_{round(args.confidence * 100)}": [round(r.low, 4), round(r.high, 4)],
        "share_of_resamples_b_better": round(r.share_b_better, 3),
        "validation_images": r.num_queries,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
