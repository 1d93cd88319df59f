"""How much ranking quality do binary codes give up? Validation only, pooled over seeds.

For each seed, the kept net of a `dshgan reproduce` run scores its validation images
leave-one-out (each image ranked against the other validation images) four ways:
- ``binary``: the codes the run evaluates (Hamming distance), per code length;
- ``real_hash``: the same heads' sigmoid outputs before thresholding (L1 distance), per length;
- ``posterior``: the classification stream's softmax (L1 distance): no code length at all;
- ``thermometer``: the softmax quantised into bits (``bits // classes`` thresholds per class,
  at i / (levels + 1)), a hand-made code from the classifier, per length.
Why: to tell a gap caused by the features (every view low) from one caused by binarising the
hash stream (binary well below real_hash or posterior). Only validation images are encoded,
never the test queries. The float rankings break ties by index, as the Hamming ranking does;
the script checks its float ranking against dshgan.metrics on the binary codes.

    python scripts/ranking_ceilings.py runs/plus128 --seeds 0 1 2 \\
        --source ../shared/data/cifar10-jpg.tar.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def leave_one_out_ap_from_distances(distances: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each item's AP ranking all the others by ``distances`` (n, n), ties kept in index order."""
    n = len(distances)
    relevant = (labels.astype(float) @ labels.T.astype(float)) > 0
    out = np.zeros(n)
    others = np.ones(n, dtype=bool)
    for i in range(n):
        others[i] = False
        hits = relevant[i, others][np.argsort(distances[i, others], kind="stable")]
        others[i] = True
        if hits.any():
            ranks = np.flatnonzero(hits) + 1
            out[i] = np.mean(np.arange(1, len(ranks) + 1) / ranks)
    return out


def l1_distances(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return np.abs(x[:, None, :] - x[None, :, :]).sum(axis=2)


def thermometer_codes(probabilities: np.ndarray, bits: int) -> np.ndarray:
    levels = max(1, bits // probabilities.shape[1])
    thresholds = np.arange(1, levels + 1) / (levels + 1)
    return (probabilities[:, :, None] > thresholds).reshape(len(probabilities), -1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the --out folder of a `dshgan reproduce` run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--source", required=True, help="the --source the run was given")
    args = parser.parse_args()

    import torch

    from dshgan.config import load_config
    from dshgan.data import get_protocol, load_dataset, make_split
    from dshgan.image_tensors import to_tensor_images
    from dshgan.metrics import leave_one_out_average_precisions
    from dshgan.model_io import load_reproduce_checkpoint

    config = load_config(args.run / "config.yaml")
    device = torch.device("cpu")
    dataset = load_dataset(args.source, image_size=config.data.image_size)
    scores: dict[str, list[float]] = {}
    for seed in args.seeds:
        split = make_split(dataset, get_protocol(config.data.protocol), seed=seed)
        images, labels = dataset.images[split.validation], dataset.labels[split.validation]
        net = load_reproduce_checkpoint(args.run, seed, dataset.num_classes, device=device)[0]
        net.eval()
        logits, hashes = [], {b: [] for b in net.bits}
        with torch.no_grad():
            for start in range(0, len(images), 128):
                out = net(to_tensor_images(images[start:start + 128], device))
                logits.append(out.class_logits)
                for b in net.bits:
                    hashes[b].append(out.hash[b])
        probabilities = torch.softmax(torch.cat(logits), dim=1).numpy()
        seed_scores = {"accuracy": float(np.mean(probabilities.argmax(1) == labels.argmax(1))),
                       "posterior": float(np.mean(leave_one_out_ap_from_distances(
                           l1_distances(probabilities), labels)))}
        for b in net.bits:
            real = torch.cat(hashes[b]).numpy()
            binary = (real > 0.5).astype(np.uint8)
            reference = leave_one_out_average_precisions(binary, labels)
            ours = leave_one_out_ap_from_distances(l1_distances(binary), labels)
            assert np.allclose(ours, reference, atol=1e-9), "float ranking disagrees with metrics"
            seed_scores[f"binary_{b}"] = float(reference.mean())
            seed_scores[f"real_hash_{b}"] = float(np.mean(
                leave_one_out_ap_from_distances(l1_distances(real), labels)))
            seed_scores[f"thermometer_{b}"] = float(np.mean(leave_one_out_average_precisions(
                thermometer_codes(probabilities, b).astype(np.uint8), labels)))
        print(json.dumps({"seed": seed, **{k: round(v, 4) for k, v in seed_scores.items()}}),
              flush=True)
        for key, value in seed_scores.items():
            scores.setdefault(key, []).append(value)
    print(json.dumps({"run": str(args.run), "seeds": args.seeds,
                      "view": "validation leave-one-out mAP, mean over seeds",
                      **{k: round(float(np.mean(v)), 4) for k, v in scores.items()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
