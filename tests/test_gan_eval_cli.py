"""`dshgan gan-eval RUN` on a tiny run folder made by hand: the generator in model.pt, the
dataset named by config.yaml, the split in RUN/split/; a run without a generator is refused."""

import json

import numpy as np
import torch

from dshgan.cli import main
from dshgan.config import config_to_dict, load_config, save_config
from dshgan.data import make_split, make_toy_dataset, write_split
from dshgan.data.writers import write_image_archive
from dshgan.experiment import load_data
from dshgan.nets import ConditionalGenerator


def _run_folder(tmp_path, with_generator=True):
    archive = tmp_path / "toy.tar.gz"
    write_image_archive(make_toy_dataset(n_per_class=10, num_classes=3, image_size=16), archive)
    config = load_config("demo", {"data": {"source": str(archive), "image_size": 16,
                                           "protocol": "toy"},
                                  "gan": {"width": 8, "noise_dim": 8}})
    run = tmp_path / "run"
    (run / "split").mkdir(parents=True)
    save_config(config, run / "config.yaml")
    data = load_data(config)
    write_split(make_split(data, "toy", seed=0), data, run / "split")
    torch.manual_seed(0)
    generator = ConditionalGenerator(3, noise_dim=8, image_size=16, width=8)
    torch.save({"nets": [], "generator": generator.state_dict() if with_generator else None,
                "config": config_to_dict(config), "class_names": list(data.class_names),
                "multi_label": False, "image_size": [16, 16], "gan_image_size": 16},
               run / "model.pt")
    return run


def test_gan_eval_prints_the_tables_and_writes_gan_eval_json(tmp_path, capsys):
    run = _run_folder(tmp_path)
    assert main(["gan-eval", str(run), "--per-class", "4", "--input-size", "32",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "GAN-test" in out and "real vs real" in out and "gan_eval.json" in out
    result = json.loads((run / "gan_eval.json").read_text())
    assert result["sizes"]["per_class"] == 4 and result["sizes"]["synthetic"] == 12
    assert result["sizes"]["real_train"] == 9  # the toy protocol: 3 per class train
    assert result["image_size"] == 16 and len(result["diversity"]["per_class"]) == 3
    assert "32 px" in result["features"]
    assert result["seed"] == 0 and result["fid"] >= 0 and np.isfinite(result["fid_real_vs_real"])


def test_a_run_without_a_generator_is_a_clear_error(tmp_path, capsys):
    run = _run_folder(tmp_path, with_generator=False)
    assert main(["gan-eval", str(run), "--device", "cpu"]) == 2
    assert "no generator" in capsys.readouterr().err


def test_too_few_images_per_class_are_refused(tmp_path, capsys):
    run = _run_folder(tmp_path)
    assert main(["gan-eval", str(run), "--per-class", "1"]) == 2
    assert "--per-class" in capsys.readouterr().err


def test_pixel_probe_adds_its_gan_test_to_the_tables_and_the_json(tmp_path, capsys):
    run = _run_folder(tmp_path)
    assert main(["gan-eval", str(run), "--per-class", "4", "--input-size", "32",
                 "--device", "cpu", "--pixel-probe"]) == 0
    assert "| GAN-test, pixel classifier" in capsys.readouterr().out
    pixel = json.loads((run / "gan_eval.json").read_text())["pixel_probe"]
    assert pixel["sizes"] == {"per_class": 4, "synthetic": 12, "real_train": 9, "validation": 3}
    assert len(pixel["gan_test"]["per_class"]) == 3 and pixel["seed"] == 0
    assert 0 <= pixel["real_classifier"]["overall"] <= 1
