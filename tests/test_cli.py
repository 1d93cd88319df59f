"""The CLI end to end on tiny made-up data (the --dry-run path CI relies on)."""

import json
import subprocess
import sys

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
    assert 0 <= metrics["results"]["DSH-GAN"]["16"]["map"] <= 1
    assert "mAP" in capsys.readouterr().out

    # A second call without --resume refuses to overwrite; with --resume it finishes at once.
    assert main(["train", "--config", "demo", "--dry-run", "--run-dir", str(run),
                 "--no-progress", "--bits", "8", "16"]) == 2
    assert main(["train", "--config", "demo", "--dry-run", "--run-dir", str(run),
                 "--no-progress", "--bits", "8", "16", "--resume"]) == 0

    codes = tmp_path / "codes.npy"
    images = tmp_path / "images"
    from dshgan.data.toy import make_toy_dataset
    from dshgan.data.writers import write_image_folder

    write_image_folder(make_toy_dataset(n_per_class=2, num_classes=2), images)
    assert main(["encode", str(run), "--images", str(images), "--bits", "16",
                 "--out", str(codes)]) == 0
    import numpy as np

    assert np.load(codes).shape == (4, 16)


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
    assert "missing" in capsys.readouterr().err
    assert not run.exists()


def test_demo_dry_run_with_its_own_code_lengths(tmp_path):
    assert main(["demo", "--dry-run", "--run-dir", str(tmp_path / "demo"), "--no-progress"]) == 0
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert set(metrics["results"]["ITQ"]) == {"12", "24", "32", "48"}
