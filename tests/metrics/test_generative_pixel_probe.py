"""The pixel classifier's GAN-test on made-up images: a stand-in generator that answers with real
images of the asked class gets exactly the classifier's accuracy on them, solid colours are
learnt perfectly, a seed fixes everything, the augmentation only flips and moves, and bad
inputs are refused."""

from collections import defaultdict

import numpy as np
import pytest
import torch

from dshgan.metrics.generative import (
    accuracy_per_class,
    pixel_gan_test,
    pixel_scores,
    report_lines,
    train_pixel_classifier,
)
from dshgan.metrics.generative.pixel_probe import augment

SIZE = 8
COLOURS = np.array([[220, 30, 30], [30, 220, 30], [30, 30, 220]], np.uint8)


class RealImages:
    """Answers one-hot label y with the next real image of that class (cycling); records what
    it returned."""

    def __init__(self, images, labels):
        self.noise_dim, self.image_size = 2, images.shape[1]
        self.pools = defaultdict(list)
        for image, y in zip(images, labels):
            self.pools[int(np.argmax(y))].append(image)
        self.next = defaultdict(int)
        self.returned = []

    def __call__(self, noise, labels):
        out = []
        for c in labels.argmax(1).tolist():
            out.append(self.pools[c][self.next[c] % len(self.pools[c])])
            self.next[c] += 1
        batch = np.stack(out)
        self.returned.append(batch)
        return torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 127.5 - 1


def _patterns(n_per, seed, noise=60):
    """Three classes: a colour wash plus stripes (horizontal, vertical, none), heavy noise."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    r = np.arange(SIZE)
    stripes = [np.tile((r % 2)[:, None], (1, SIZE)), np.tile(r % 2, (SIZE, 1)),
               np.zeros((SIZE, SIZE), int)]
    for c in range(3):
        for _ in range(n_per):
            x = COLOURS[c] * 0.5 + 80 * stripes[c][..., None] + rng.normal(0, noise, (SIZE, SIZE, 3))
            images.append(np.clip(x, 0, 255).astype(np.uint8))
            labels.append(np.eye(3, dtype=np.uint8)[c])
    order = rng.permutation(len(images))
    return np.stack(images)[order], np.stack(labels)[order]


def _solid(n_per):
    x = np.repeat(COLOURS, n_per, axis=0)[:, None, None, :].repeat(SIZE, 1).repeat(SIZE, 2)
    return x, np.repeat(np.eye(3, dtype=np.uint8), n_per, axis=0)


def test_gan_test_of_real_images_is_the_classifiers_accuracy_on_them():
    tx, ty = _patterns(6, seed=0)
    vx, vy = _patterns(4, seed=1)
    gen = RealImages(tx, ty)
    out = pixel_gan_test(gen, tx, ty, vx, vy, per_class=5, epochs=2, seed=3)
    shown = np.concatenate(gen.returned)
    asked = np.repeat(np.eye(3, dtype=np.uint8), 5, axis=0)
    assert len(shown) == 15
    model = train_pixel_classifier(tx, ty, epochs=2, seed=3)  # the same classifier again
    overall, per = accuracy_per_class(pixel_scores(model, shown), asked)
    assert out["gan_test"] == {"overall": overall, "per_class": per}
    real, real_per = accuracy_per_class(pixel_scores(model, vx), vy)
    assert out["real_classifier"] == {"overall": real, "per_class": real_per}
    assert out["sizes"] == {"per_class": 5, "synthetic": 15, "real_train": 18, "validation": 12}
    assert out["epochs"] == 2 and out["seed"] == 3 and out["image_size"] == SIZE


def test_solid_colours_are_learnt_perfectly():
    tx, ty = _solid(4)
    vx, vy = _solid(2)
    out = pixel_gan_test(RealImages(vx, vy), tx, ty, vx, vy, per_class=2, epochs=3)
    assert out["real_classifier"] == {"overall": 1.0, "per_class": [1.0, 1.0, 1.0]}
    assert out["gan_test"] == {"overall": 1.0, "per_class": [1.0, 1.0, 1.0]}


def test_a_seed_fixes_everything_and_leaves_the_callers_rng_alone():
    tx, ty = _patterns(6, seed=0)
    vx, vy = _patterns(4, seed=1)
    state = torch.get_rng_state()
    runs = [pixel_gan_test(RealImages(tx, ty), tx, ty, vx, vy, per_class=3, epochs=1, seed=s)
            for s in (0, 0)]
    assert torch.equal(torch.get_rng_state(), state)
    for r in runs:
        r.pop("seconds"), r.pop("train_seconds")
    assert runs[0] == runs[1]
    a, b, c = (train_pixel_classifier(tx, ty, epochs=1, seed=s) for s in (5, 5, 6))
    assert np.array_equal(pixel_scores(a, vx), pixel_scores(b, vx))
    assert not np.array_equal(pixel_scores(a, vx), pixel_scores(c, vx))


def test_augment_only_flips_and_moves():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).reshape(2, 3, 5, 5) + 1
    out = augment(x, 1, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(2):
        candidates = [v[:, dy:dy + 5, dx:dx + 5] for v in (padded[i], padded[i].flip(2))
                      for dy in range(3) for dx in range(3)]
        assert any(torch.equal(out[i], c) for c in candidates)
    same = augment(x, 0, torch.Generator().manual_seed(0))
    assert all(torch.equal(same[i], x[i]) or torch.equal(same[i], x[i].flip(2))
               for i in range(2))


def test_bad_inputs_are_refused():
    tx, ty = _solid(2)
    gen = RealImages(tx, ty)
    with pytest.raises(ValueError, match="at least 2 labelled images"):
        pixel_gan_test(gen, tx[:0], ty[:0], tx, ty, epochs=1)
    with pytest.raises(ValueError, match="6 training images but 5 labels"):
        pixel_gan_test(gen, tx, ty[:5], tx, ty, epochs=1)
    with pytest.raises(ValueError, match="6 validation images but 4 labels"):
        pixel_gan_test(gen, tx, ty, tx, ty[:4], epochs=1)
    with pytest.raises(ValueError, match="single-label only"):
        pixel_gan_test(gen, tx, ty, tx, ty, multi_label=True, epochs=1)
    both = ty.copy()
    both[0, 1] = 1  # a row with two classes
    with pytest.raises(ValueError, match="single-label only"):
        pixel_gan_test(gen, tx, both, tx, ty, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        train_pixel_classifier(tx, ty, epochs=0)


def test_the_report_shows_the_pixel_probe_when_present():
    per = [0.5, 1.0, None]
    result = {"sizes": {"synthetic": 6, "validation": 6, "real_train": 6, "fid_each_side": 6},
              "score": "accuracy", "gan_train_on": "validation", "features": "F",
              "classifier": "C", "gan_test": {"overall": 0.7, "per_class": per},
              "gan_train": {"overall": 0.6, "per_class": per},
              "real_classifier": {"overall": 0.9, "per_class": per}, "fid": 1.0,
              "fid_real_vs_real": 0.5, "diversity": {"min": 0.4, "per_class": per}}
    plain = report_lines(result)
    assert not any("pixel" in line for line in plain)
    result["pixel_probe"] = {"classifier": "small CNN", "sizes": {"synthetic": 6},
                             "real_classifier_on": "validation",
                             "gan_test": {"overall": 0.25, "per_class": [0.0, 0.5, None]},
                             "real_classifier": {"overall": 0.75, "per_class": per}}
    lines = report_lines(result)
    assert any(line.startswith("| GAN-test, pixel classifier") and "| 0.250 | 0.750 on real "
               "validation images |" in line for line in lines)
    assert "| 0 | 0.500 | 0.500 | 0.500 | 0.500 | 0.000 | 0.500 |" in lines
    assert "| 2 | n/a | n/a | n/a | n/a | n/a | n/a |" in lines
