"""Anchors for the generator metrics (dshgan.metrics.generative) on the bundled CIFAR-10 sample:
what GAN-test, GAN-train, FID and diversity read for

  real       real images the classifier never saw (the upper reference),
  collapsed  one real image per class, whatever the noise (diversity 0 by construction),
  untrained  a ConditionalGenerator straight from its initialisation (the lower reference),
  stage 1    the stage-1 GAN of dshgan.train.stage1_gan after --steps steps.

Split: per class 100 training images (the classifiers' and the GAN's labelled set), 100
validation images (GAN-train's test set, one half of the real FID pool) and 100 unlabelled ones
(the GAN's unlabelled pool and the "real" generator's answers).

    python benchmarks/bench_gan_metrics.py                 # 300 GAN steps, 100 images per class
    python benchmarks/bench_gan_metrics.py --steps 50 --per-class 20 --input-size 32   # quick
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dshgan.config import GANConfig
from dshgan.data import load_sample
from dshgan.metrics.generative import TrunkFeatures, evaluate_generator
from dshgan.nets import ConditionalGenerator
from dshgan.train.stage1_gan import train_gan


class Answers:
    """A stand-in generator: label y -> the next of ``images`` of class y (``collapsed``: always
    the first), noise ignored."""

    def __init__(self, images, labels, collapsed=False):
        self.noise_dim, self.image_size = 8, images.shape[1]
        classes = labels.argmax(1)
        self.pools = [images[classes == c] for c in range(labels.shape[1])]
        self.collapsed, self.next = collapsed, [0] * labels.shape[1]

    def __call__(self, noise, labels):
        out = []
        for c in labels.argmax(1).tolist():
            pool = self.pools[c]
            out.append(pool[0 if self.collapsed else self.next[c] % len(pool)])
            self.next[c] += 1
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 127.5 - 1


class CachedFeatures:
    """The real images' features once for all generators (same arrays, same features)."""

    def __init__(self, features):
        self.features, self.cache = features, {}
        self.description = features.description

    def __call__(self, images):
        key = (id(images), images.shape)
        if key in self.cache:
            return self.cache[key][1]
        out = self.features(images)
        if images.shape[0] > 1000 or key[0] in {id(a) for a, _ in self.cache.values()}:
            return out
        self.cache[key] = (images, out)  # kept alive, so the id stays unique
        return out


def split(labels: np.ndarray, seed: int = 0):
    rng = np.random.default_rng(seed)
    parts = [[], [], []]
    for c in range(labels.shape[1]):
        idx = rng.permutation(np.flatnonzero(labels[:, c] > 0))
        for p in range(3):
            parts[p].append(idx[100 * p:100 * (p + 1)])
    return [np.sort(np.concatenate(p)) for p in parts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="stage-1 GAN steps")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--input-size", type=int, default=64, help="the trunk's input size (px)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write all results to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_sample()
    train, val, unl = split(data.labels)
    tx, ty = data.images[train], data.labels[train].astype(np.uint8)
    vx, vy = data.images[val], data.labels[val].astype(np.uint8)
    ux, uy = data.images[unl], data.labels[unl]
    features = CachedFeatures(TrunkFeatures(input_size=args.input_size))

    torch.manual_seed(0)
    untrained = ConditionalGenerator(10, 100, 32, 32)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        trained, _, _ = train_gan(GANConfig(steps=args.steps, width=32), tx, ty, ux, False,
                                  torch.device("cpu"), Path(tmp) / "stage1.pt", seed=0,
                                  progress=False)
    gan_s = time.perf_counter() - t0
    generators = {"real (unseen)": Answers(ux, uy), "collapsed": Answers(ux, uy, True),
                  "untrained G": untrained, f"stage 1, {args.steps} steps": trained}
    results = {}
    for name, gen in generators.items():
        results[name] = evaluate_generator(gen, tx, ty, vx, vy, False, per_class=args.per_class,
                                           seed=0, features=features)
    first = next(iter(results.values()))
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, torch threads "
          f"{args.threads}; stage 1: {args.steps} steps in {gan_s:.0f} s")
    print(f"features: {first['features']}\nclassifier: {first['classifier']}")
    print(f"sizes: {first['sizes']}; real classifier on real validation: "
          f"{first['real_classifier']['overall']:.3f}\n")
    print("| generator | GAN-test | GAN-train | FID | FID real vs real | diversity min | "
          "diversity mean | s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        d = r["diversity"]
        print(f"| {name} | {r['gan_test']['overall']:.3f} | {r['gan_train']['overall']:.3f} | "
              f"{r['fid']:.2f} | {r['fid_real_vs_real']:.2f} | {d['min']:.3f} | "
              f"{d['mean']:.3f} | {r['seconds']:.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
