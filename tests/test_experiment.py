"""``dshgan train`` on folders a user would have: labelled classes beside unlabelled images."""

import json

import numpy as np
import pytest
import torch

from dshgan.cli import main
from dshgan.config import load_config
from dshgan.data.toy import make_toy_dataset
from dshgan.data.writers import encode_image
from dshgan.experiment import image_sizes

TINY = ["--set", "gan.steps=3", "--set", "gan.batch_size=8", "--set", "gan.width=8",
        "--set", "hashing.backbone=small-cnn", "--set", "hashing.backbone_kwargs={width: 4}",
        "--set", "evaluation.baseline_features=pixels", "--set", "hashing.epochs=1",
        "--set", "hashing.batch_size=8", "--set", "evaluation.precision_at_n=[5]",
        "--set", "evaluation.generator_metrics=false", "--no-progress"]


@pytest.fixture
def own_folder(tmp_path):
    """4 classes: 16 labelled images each under labelled/<class>/, 56 unlabelled ones at two
    depths under unlabelled/, and one truncated PNG among the unlabelled."""
    toy = make_toy_dataset(n_per_class=30, num_classes=4, image_size=32, seed=0)
    root = tmp_path / "photos"
    seen = {}
    for i, (image, c) in enumerate(zip(toy.images, toy.class_ids)):
        k = seen[c] = seen.get(c, 0) + 1
        folder = (root / "labelled" / toy.class_names[c] if k <= 16
                  else root / "unlabelled" / f"day{i % 2}" / ("sub" if i % 3 else ""))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.png").write_bytes(encode_image(image))
    good = (root / "labelled" / toy.class_names[0] / "0.png").read_bytes()
    (root / "unlabelled" / "broken.png").write_bytes(good[: len(good) // 3])
    return root


def _run(args, capsys):
    code = main(args)
    return code, capsys.readouterr()


def test_train_on_labelled_and_unlabelled_folders(own_folder, tmp_path, capsys):
    run = tmp_path / "run"
    code, out = _run(["train", "--config", "demo", "--source", str(own_folder), "--protocol",
                      "auto", "--run-dir", str(run), *TINY], capsys)
    assert code == 0, out.err
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["results"]) == {"DSH-GAN", "LSH", "ITQ"}
    assert metrics["bad_images"] == 1
    assert (run / "bad_images.txt").read_text().startswith("unlabelled/broken.png\t")
    split = json.loads((run / "split" / "split.json").read_text())
    # auto: 16 labelled in the smallest class -> 3 queries, 13 labelled (1 validation) per
    # class; the scored database holds the labelled non-query images only, the pool the rest.
    assert split["counts"]["query"] == 12 and split["counts"]["validation"] == 4
    assert split["counts"]["database"] == 52
    assert split["counts"]["unlabelled"] == 52 - 4 + 56  # the broken image is never decoded
    database = (run / "split" / "database.txt").read_text().split()
    assert all(not name.startswith("unlabelled/") for name in database[::5])
    state = torch.load(run / "model.pt", weights_only=False)
    assert state["image_size"] == [32, 32] and state["gan_image_size"] == 32


def test_train_only_saves_a_model_and_evaluates_nothing(own_folder, tmp_path, capsys):
    run = tmp_path / "run"
    code, out = _run(["train", "--config", "demo", "--source", str(own_folder), "--protocol",
                      "auto", "--train-only", "--run-dir", str(run), *TINY], capsys)
    assert code == 0, out.err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["results"] == {} and metrics["protocol"].endswith("+custom")
    assert set(metrics["validation"]) == {"12/24/32/48"}
    assert (run / "model.pt").exists() and "train only" in (run / "report.md").read_text()
    assert "train only" in out.out


def test_a_prepared_split_is_trained_on_as_it_is(own_folder, tmp_path, capsys):
    prepared = tmp_path / "split"
    code, out = _run(["data", "prepare", "auto", "--source", str(own_folder), "--out",
                      str(prepared), "--seed", "5"], capsys)
    assert code == 0, out.err
    run = tmp_path / "run"
    code, out = _run(["train", "--config", "demo", "--source", str(own_folder), "--split",
                      str(prepared), "--run-dir", str(run), *TINY], capsys)
    assert code == 0, out.err
    for part in ("query", "train", "validation"):
        assert (run / "split" / f"{part}.txt").read_text() == \
            (prepared / f"{part}.txt").read_text()
    assert json.loads((run / "split" / "split.json").read_text())["seed"] == 5


def test_on_bad_image_fail_stops_with_the_file_named(own_folder, tmp_path, capsys):
    code, out = _run(["train", "--config", "demo", "--source", str(own_folder), "--protocol",
                      "auto", "--on-bad-image", "fail", "--run-dir", str(tmp_path / "r"), *TINY],
                     capsys)
    assert code == 2 and "broken.png" in out.err and "Traceback" not in out.err


def test_sizes_come_from_the_trunk_when_asked():
    config = load_config("photos")
    assert image_sizes(config) == (128, 32)
    small = load_config("demo", {"data": {"image_size": 16}, "gan": {"image_size": 8}})
    assert image_sizes(small) == (16, 8)
    assert image_sizes(load_config("demo")) == (32, 32)


def test_pixel_features_are_block_means_at_any_size():
    from dshgan.experiment import pixel_features

    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    want = images.astype(np.float32).reshape(3, 16, 2, 16, 2, 3).mean(axis=(2, 4)) / 255
    assert np.allclose(pixel_features(images), want.reshape(3, -1), atol=1e-6)
    assert pixel_features(np.zeros((2, 20, 20, 3), np.uint8)).shape == (2, 768)


def test_the_generator_is_measured_into_metrics_and_report(tmp_path, monkeypatch):
    """Wiring only (metrics/generative has its own exact tests): the stage-1 generator and the
    GAN-size training images reach generator_report, its result lands in both outputs."""
    from dshgan.dry_run import dry_run_setup
    from dshgan.experiment import replace_config, run_experiment
    from dshgan.metrics import generative

    seen = {}

    def fake_report(generator, train_x, train_y, val_x, val_y, multi_label, device, seed):
        seen.update(train=train_x.shape, val=val_x.shape, seed=seed, noise=generator.noise_dim)
        return {"stand-in": 1}

    monkeypatch.setattr(generative, "generator_report", fake_report)
    monkeypatch.setattr(generative, "report_lines", lambda result, names: ["GENERATOR-TABLE"])
    config, data, protocol = dry_run_setup(load_config("demo", {"seed": 3}))
    config = replace_config(config, evaluation={"generator_metrics": True})
    metrics = run_experiment(config, tmp_path / "run", progress=False, dataset=data,
                             protocol=protocol)
    assert metrics["generator"] == {"stand-in": 1}
    assert seen["seed"] == 3 and seen["train"][1:] == (32, 32, 3) and seen["val"][0] == 4
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["generator"] == \
        {"stand-in": 1}
    assert "## Stage-1 generator" in (tmp_path / "run" / "report.md").read_text()


def test_measuring_the_generator_leaves_stage_2_unchanged(tmp_path, monkeypatch):
    """The generator metrics build a trunk and sample noise (drawing from the global random
    states): a run with them must train the very same hashing net as a run without them. The
    stand-in draws from all three global generators as the real report does, in a blink."""
    import random

    from dshgan.dry_run import dry_run_setup
    from dshgan.experiment import replace_config, run_experiment
    from dshgan.metrics import generative

    def drawing_report(*args, **kwargs):
        torch.nn.Linear(64, 64)  # initialising weights draws from torch's global generator
        np.random.rand(10)
        random.random()
        return {"drawn": True}

    monkeypatch.setattr(generative, "generator_report", drawing_report)
    monkeypatch.setattr(generative, "report_lines", lambda result, names: [])

    config, data, protocol = dry_run_setup(load_config("demo"))
    runs = {}
    # A process's first training run rounds differently (fresh allocations): warm up first.
    for name, on in (("warm-up", False), (False, False), (True, True)):
        c = replace_config(config, evaluation={"generator_metrics": on, "baselines": ()})
        runs[name] = run_experiment(c, tmp_path / str(name), progress=False, dataset=data,
                                    protocol=protocol)
    assert "generator" in runs[True] and "generator" not in runs[False]
    assert runs[True]["results"]["DSH-GAN"] == runs[False]["results"]["DSH-GAN"]
    a = torch.load(tmp_path / "True" / "model.pt", weights_only=False)["nets"][0]["state"]
    b = torch.load(tmp_path / "False" / "model.pt", weights_only=False)["nets"][0]["state"]
    assert all(torch.equal(a[k], b[k]) for k in a)
