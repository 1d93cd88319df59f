"""All generator metrics from one set of features: GAN-test, GAN-train (Shmelkov, Schmid,
Alahari, "How good is my GAN?", ECCV 2018), FID with its real-vs-real scale, and intra-class
diversity per class.

Real images are first brought to the generator's size (PIL bilinear, as the run decodes its GAN
images): the generator cannot make detail finer than its own size, and these metrics should
measure the generator, not the resolution. Then real and synthetic images take the same path
(``features.py``).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dshgan.metrics.generative.class_scores import accuracy_per_class, ap_per_concept
from dshgan.metrics.generative.diversity import diversity_ratio
from dshgan.metrics.generative.features import TrunkFeatures
from dshgan.metrics.generative.frechet import fid
from dshgan.metrics.generative.probe import ITERATIONS, L2, LinearProbe
from dshgan.metrics.generative.sampling import at_generator_size, generate_images, labels_per_class

DEFAULT_PER_CLASS = 100


def _score(scores: np.ndarray, labels: np.ndarray, multi_label: bool) -> dict:
    overall, per = (ap_per_concept if multi_label else accuracy_per_class)(scores, labels)
    return {"overall": overall, "per_class": per}


def evaluate_generator(generator, real_train_images: np.ndarray, real_train_labels: np.ndarray,
                       real_val_images: np.ndarray, real_val_labels: np.ndarray,
                       multi_label: bool, per_class: int = DEFAULT_PER_CLASS, seed: int = 0,
                       device: torch.device | str = "cpu", trunk=None, features=None,
                       heldout_name: str = "validation") -> dict:
    """Measure ``generator`` (``forward(noise, labels)`` -> images in [-1, 1], ``noise_dim``)
    against real uint8 (n, H, W, 3) images with multi-hot (n, C) labels.

    - ``gan_test``: a linear probe trained on the real training images, scored on
      ``per_class`` synthetic images per class (accuracy; mean per-concept AP if multi-label).
    - ``gan_train``: the same kind of probe trained on those synthetic images, scored on the
      real held-out images (validation; pass the test images only for a final table).
    - ``real_classifier``: the real-trained probe on the held-out images, the reference for both.
    - ``fid``: synthetic vs real at n images a side (synthetic images asked for the labels of the
      real ones); ``fid_real_vs_real``: two disjoint real halves at the same n.
    - ``diversity``: per class, synthetic over real mean pairwise feature distance.

    ``features`` (a callable on uint8 images) or ``trunk`` (a backbone) set the features; the
    default is the frozen ImageNet Lite0 trunk (``features.py`` says why).
    """
    t0 = time.perf_counter()
    if features is None:
        features = TrunkFeatures(trunk, device)
    size, real_train_images, real_val_images = at_generator_size(
        generator, real_train_images, real_val_images)
    y_train, y_val = np.asarray(real_train_labels), np.asarray(real_val_labels)
    rng = np.random.default_rng(seed)
    f_train, f_val = features(real_train_images), features(real_val_images)

    real_probe = LinearProbe(multi_label).fit(f_train, y_train)
    asked = labels_per_class(y_train, per_class, multi_label, rng)
    f_syn = features(generate_images(generator, asked, seed, device))
    gan_test = _score(real_probe.scores(f_syn), asked, multi_label)
    gan_train = _score(LinearProbe(multi_label).fit(f_syn, asked).scores(f_val), y_val,
                       multi_label)
    real = _score(real_probe.scores(f_val), y_val, multi_label)

    pool, pool_labels = np.concatenate([f_train, f_val]), np.concatenate([y_train, y_val])
    n = min(len(asked), len(pool) // 2)
    order = rng.permutation(len(pool))
    a, b = order[:n], order[n:2 * n]
    f_fid = features(generate_images(generator, pool_labels[a], seed + 1, device))
    diversity = diversity_ratio(f_syn, asked, pool, pool_labels, seed)
    link = "a sigmoid per concept" if multi_label else "softmax"
    return {
        "score": "mean per-concept AP" if multi_label else "accuracy",
        "features": getattr(features, "description", "features given by the caller"),
        "classifier": (f"linear probe (logistic regression, {link}; L-BFGS {ITERATIONS} "
                       f"iterations, L2 {L2}) on the same features"),
        "gan_test": gan_test,
        "gan_train": gan_train,
        "gan_train_on": heldout_name,
        "real_classifier": real,
        "fid": fid(f_fid, pool[a]) if n >= 2 else None,
        "fid_real_vs_real": fid(pool[b], pool[a]) if n >= 2 else None,
        "diversity": diversity,
        "sizes": {"per_class": per_class, "synthetic": len(asked), "real_train": len(f_train),
                  heldout_name: len(f_val), "fid_each_side": n},
        "image_size": None if size is None else int(size),
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def report_per_class(train_y: np.ndarray) -> int:
    """Synthetic images per class for a run: DEFAULT_PER_CLASS, but no more than the real
    training images of the smallest class (at least 2), so GAN-train's classifier learns from
    about as many images as the real one and a tiny run (a dry run) stays quick."""
    counts = np.asarray(train_y).sum(axis=0)
    counts = counts[counts > 0]
    smallest = int(counts.min()) if len(counts) else DEFAULT_PER_CLASS
    return int(np.clip(smallest, 2, DEFAULT_PER_CLASS))


def generator_report(generator, train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray,
                     val_y: np.ndarray, multi_label: bool, device: torch.device | str,
                     seed: int = 0, features=None) -> dict:
    """``evaluate_generator`` with the defaults a run uses (``report_per_class`` images per
    class, the default trunk): what the pipeline calls after stage 1 to put into metrics.json
    (and, via ``report_lines``, report.md)."""
    return evaluate_generator(generator, train_x, train_y, val_x, val_y, multi_label,
                              per_class=report_per_class(train_y), seed=seed, device=device,
                              features=features)
