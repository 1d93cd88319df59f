"""evaluate_generator against exact answers, with stand-in generators and a tiny random trunk:
real images of the asked class (GAN-test is the real classifier's score on them; GAN-train on
them is the real classifier), one image per class (diversity 0), and multi-label AP."""

from collections import defaultdict

import numpy as np
import pytest
import torch

from dshgan.data.toy import make_toy_dataset
from dshgan.metrics.generative import (
    LinearProbe,
    TrunkFeatures,
    accuracy_per_class,
    evaluate_generator,
    generator_report,
    report_lines,
    report_per_class,
)
from dshgan.nets import ConditionalGenerator, create_backbone

SIZE = 16


class RealImages:
    """Answers label vector y with the next real image labelled exactly y (cycling); records
    what it returned, call by call. ``collapsed``: always the first such image."""

    def __init__(self, images, labels, collapsed=False, shift=0):
        self.noise_dim, self.image_size, self.collapsed = 3, images.shape[1], collapsed
        self.shift = shift  # answer class c with images of class c + shift (single-label)
        self.pools = defaultdict(list)
        for image, y in zip(images, labels):
            self.pools[tuple(int(v) for v in y)].append(image)
        self.next = defaultdict(int)
        self.returned = []

    def __call__(self, noise, labels):
        out = []
        for y in labels.cpu().numpy().astype(int):
            key = tuple(np.roll(y, self.shift))
            pool = self.pools[key]
            out.append(pool[0 if self.collapsed else self.next[key] % len(pool)])
            self.next[key] += 1
        batch = np.stack(out)
        self.returned.append(batch)
        return torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 127.5 - 1


def _features():
    torch.manual_seed(0)
    return TrunkFeatures(create_backbone("small-cnn", width=4, input_size=SIZE), name="tiny")


def _parts(multi_label=False, per_class=12, num_classes=4):
    data = make_toy_dataset(n_per_class=2 * per_class, num_classes=num_classes,
                            image_size=SIZE, seed=1, multi_label=multi_label)
    rng = np.random.default_rng(0)
    # Half of each class (the first labels' class) for training, in shuffled order.
    first = data.labels.argmax(1)
    halves = [rng.permutation(np.flatnonzero(first == c)) for c in range(num_classes)]
    train = rng.permutation(np.concatenate([h[:len(h) // 2] for h in halves]))
    val = np.concatenate([h[len(h) // 2:] for h in halves])
    return (data.images[train], data.labels[train].astype(np.uint8), data.images[val],
            data.labels[val].astype(np.uint8))


def test_gan_test_of_real_images_equals_the_real_classifiers_accuracy_on_them():
    tx, ty, vx, vy = _parts()
    gen, feats = RealImages(tx, ty), _features()
    out = evaluate_generator(gen, tx, ty, vx, vy, False, per_class=5, features=feats)
    shown = gen.returned[0]
    asked = np.repeat(np.eye(4, dtype=np.uint8), 5, axis=0)
    assert len(shown) == 20
    for image, y in zip(shown, asked):  # the stand-in did return real images of the class
        assert any((image == t).all() and (ty[i] == y).all() for i, t in enumerate(tx))
    probe = LinearProbe(False).fit(feats(tx), ty)
    overall, per = accuracy_per_class(probe.scores(feats(shown)), asked)
    assert out["gan_test"]["overall"] == overall
    assert out["gan_test"]["per_class"] == per
    real_overall, _ = accuracy_per_class(probe.scores(feats(vx)), vy)
    assert out["real_classifier"]["overall"] == real_overall
    assert out["sizes"] == {"per_class": 5, "synthetic": 20, "real_train": 48,
                            "validation": 48, "fid_each_side": 20}


def test_gan_train_of_the_real_training_images_is_the_real_classifier():
    tx, ty, vx, vy = _parts()
    per_class = int(ty.sum(0).min())
    assert (ty.sum(0) == per_class).all()  # one pass of the stand-in = the training set
    out = evaluate_generator(RealImages(tx, ty), tx, ty, vx, vy, False, per_class=per_class,
                             features=_features())
    assert out["gan_train"]["overall"] == pytest.approx(out["real_classifier"]["overall"],
                                                        abs=1 / len(vx))
    assert out["real_classifier"]["overall"] > 0.5  # the tiny trunk does separate the classes
    # Images of the wrong class teach the wrong classes: GAN-train collapses, GAN-test too.
    wrong = evaluate_generator(RealImages(tx, ty, shift=1), tx, ty, vx, vy, False,
                               per_class=per_class, features=_features())
    assert wrong["gan_train"]["overall"] < 0.5 * out["real_classifier"]["overall"]
    assert wrong["gan_test"]["overall"] < 0.5 * out["gan_test"]["overall"]


def test_a_collapsed_generator_has_no_diversity_in_any_class():
    tx, ty, vx, vy = _parts()
    out = evaluate_generator(RealImages(tx, ty, collapsed=True), tx, ty, vx, vy, False,
                             per_class=6, features=_features())
    d = out["diversity"]
    assert all(r is not None and r < 1e-6 for r in d["per_class"])
    assert d["min"] < 1e-6 and all(v > 0 for v in d["real"])
    full = evaluate_generator(RealImages(tx, ty), tx, ty, vx, vy, False, per_class=6,
                              features=_features())
    assert full["diversity"]["min"] > 0.5  # real images are about as diverse as real images


def _naive_ap(scores, relevant):
    pos = np.flatnonzero(relevant)
    return np.mean([np.sum(relevant[scores >= scores[i]]) / np.sum(scores >= scores[i])
                    for i in pos])


def test_multi_label_gan_test_is_the_mean_ap_per_concept_of_the_real_classifier():
    tx, ty, vx, vy = _parts(multi_label=True)
    gen, feats = RealImages(tx, ty), _features()
    out = evaluate_generator(gen, tx, ty, vx, vy, True, per_class=4, features=feats, seed=3)
    shown = gen.returned[0]
    assert out["score"] == "mean per-concept AP" and len(shown) == 16
    keys = [k for k, pool in gen.pools.items() for _ in range(gen.next[k])]
    assert len(keys) == 16 + out["sizes"]["fid_each_side"]
    # Rebuild what was asked from what the stand-in saw first (its first 16 answers).
    asked = []
    seen = defaultdict(int)
    for image in shown:
        match = [i for i, t in enumerate(tx) if (t == image).all()]
        asked.append(ty[match[0]])
        seen[tuple(ty[match[0]])] += 1
    asked = np.array(asked)
    scores = LinearProbe(True).fit(feats(tx), ty).scores(feats(shown))
    per = [_naive_ap(scores[:, c], asked[:, c] > 0) for c in range(4)]
    assert out["gan_test"]["per_class"] == pytest.approx(per, abs=1e-12)
    assert out["gan_test"]["overall"] == pytest.approx(np.mean(per), abs=1e-12)
    for c in range(4):  # per_class images were asked for each concept
        assert asked[4 * c:4 * c + 4, c].all()


def test_an_untrained_generator_end_to_end_and_its_report():
    tx, ty, vx, vy = _parts()
    torch.manual_seed(0)
    gen = ConditionalGenerator(4, noise_dim=8, image_size=8, width=8).train()
    out = evaluate_generator(gen, tx, ty, vx, vy, False, per_class=8, features=_features())
    assert gen.training  # the mode it came in
    assert out["image_size"] == 8 and out["sizes"]["fid_each_side"] == 32
    assert out["fid"] > out["fid_real_vs_real"] >= 0
    again = evaluate_generator(gen, tx, ty, vx, vy, False, per_class=8, features=_features())
    assert again["fid"] == out["fid"] and again["gan_test"] == out["gan_test"]  # seeded
    text = "\n".join(report_lines(out, ["a", "b", "c", "d"]))
    assert "GAN-test" in text and "real vs real" in text and "| d |" in text


def test_a_runs_report_asks_no_more_images_per_class_than_the_smallest_real_class():
    assert report_per_class(np.eye(3)[[0, 0, 0, 1, 1, 2, 2, 2, 2]]) == 2
    assert report_per_class(np.repeat(np.eye(2), 500, axis=0)) == 100
    tx, ty, vx, vy = _parts(per_class=6)
    out = generator_report(RealImages(tx, ty), tx, ty, vx, vy, False, "cpu", seed=0,
                           features=_features())
    assert out["sizes"]["per_class"] == 6 and out["sizes"]["synthetic"] == 24
