"""The CLI end to end on tiny made-up data (the --dry-run path CI relies on)."""

import json
import subprocess
import sys

import pytest
import torch

from dshgan.cli import main


def test_train_dry_run_writes_a_complete_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", "demo", "--dry-run", "--run-dir", str(run),
                 "--no-progress", "--bits", "8", "16", "--device", "cpu"]) == 0
    for name in ("config.yaml", "metrics.json", "report.md", "model.pt", "train.log",
                 "pr_curve.png", "precision_at_n.png", "synthetic_grid.png",
                 "retrieval_examples.png", "split/query.txt"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["results"]) == {"DSH-GAN", "LSH", "ITQ"}
    assert set(metrics["results"]["DSH-GAN"]) == {"8", "16"}
    for bits in (8, 16):  # the reported numbers are those of the saved net on the saved split
        assert metrics["results"]["DSH-GAN"][str(bits)]["map"] == pytest.approx(
            recomputed_map(run, bits), abs=1e-9)
    assert "mAP" in capsys.readouterr().out

    # A second call without --resume refuses to overwrite; with --resume it finishes at once:
    # no optimiser takes a step, and the model and the numbers stay the same.
    assert main(["train", "--config", "demo", "--dry-run", "--run-dir", str(run),
                 "--no-progress", "--bits", "8", "16"]) == 2
    model = torch.load(run / "model.pt", weights_only=False)["nets"]

    def refuse(*args, **kwargs):
        raise AssertionError("a resumed finished run trained again")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.optim.Adam, "step", refuse)
        patch.setattr(torch.optim.AdamW, "step", refuse)
        assert main(["train", "--config", "demo", "--dry-run", "--run-dir", str(run),
                     "--no-progress", "--bits", "8", "16", "--resume"]) == 0
    again = torch.load(run / "model.pt", weights_only=False)["nets"]
    for a, b in zip(model, again):
        assert a["bits"] == b["bits"]
        assert all(torch.equal(v, b["state"][k]) for k, v in a["state"].items())
    assert json.loads((run / "metrics.json").read_text())["results"] == metrics["results"]

    codes = tmp_path / "codes.npy"
    images = tmp_path / "images"
    from dshgan.data.toy import make_toy_dataset
    from dshgan.data.writers import write_image_folder

    write_image_folder(make_toy_dataset(n_per_class=2, num_classes=2), images)
    assert main(["encode", str(run), "--images", str(images), "--bits", "16",
                 "--out", str(codes)]) == 0
    import numpy as np

    assert np.load(codes).shape == (4, 16)


def recomputed_map(run, bits):
    """mAP of the run's model.pt on the queries and database its split/ folder lists."""
    from dshgan.config import load_config
    from dshgan.data.splitfiles import read_split
    from dshgan.dry_run import dry_run_setup
    from dshgan.metrics import mean_average_precision
    from dshgan.model_io import load_trained_model
    from dshgan.train.encoding import encode_images

    cpu = torch.device("cpu")
    _, dataset, _ = dry_run_setup(load_config(run / "config.yaml"))
    split = read_split(run / "split", dataset)
    net = load_trained_model(run, cpu).net_for(bits)
    x, y = dataset.images, dataset.labels
    q = encode_images(net, x[split.query], cpu)[bits]
    db = encode_images(net, x[split.database], cpu)[bits]
    return mean_average_precision(q, y[split.query], db, y[split.database], topk=split.topk)


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--config", "no-such", "--dry-run"]) == 2
    assert "neither a file nor a bundled config" in capsys.readouterr().err
    assert main(["reproduce", "cifar10"]) == 2


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "dshgan", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("demo", "train", "data", "encode", "reproduce"):
        assert command in out


def test_data_prepare_writes_split_lists(tmp_path, capsys):
    from dshgan.data.toy import make_toy_dataset
    from dshgan.data.writers import write_image_archive

    archive = tmp_path / "toy.tar.gz"
    write_image_archive(make_toy_dataset(n_per_class=90, num_classes=10, image_size=8), archive)
    assert main(["data", "prepare", "demo", "--source", str(archive), "--out",
                 str(tmp_path / "split"), "--seed", "3"]) == 0
    assert "200 queries" in capsys.readouterr().out
    lines = (tmp_path / "split" / "query.txt").read_text().splitlines()
    assert len(lines) == 200 and len(lines[0].split()) == 1 + 10  # path + 10-wide label vector
    assert main(["data", "prepare", "no-such-protocol", "--source", str(archive), "--out",
                 str(tmp_path / "x")]) == 2
    assert "demo" in capsys.readouterr().err  # the error lists the known protocols


def test_bad_source_fails_before_writing_anything(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", "demo", "--source", str(tmp_path / "missing"),
                 "--run-dir", str(run)]) == 2
    assert str(tmp_path / "missing") in capsys.readouterr().err
    assert not run.exists()


def test_demo_dry_run_with_its_own_code_lengths(tmp_path):
    assert main(["demo", "--dry-run", "--run-dir", str(tmp_path / "demo"), "--no-progress"]) == 0
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert set(metrics["results"]["ITQ"]) == {"12", "24", "32", "48"}
