"""scripts/gan_scaling.sh's flow (the bench stood in for by a recorder) and
scripts/gan_scaling_table.py's table against records whose figures are known."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import gan_scaling_table

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$CALLS"
if [[ "$1" == *bench_gan_levers.py ]]; then
    mkdir -p "$GRID_DIR" && echo "$*" > "$GRID_DIR/synthetic_grid.png"
else
    echo "the table"
fi
"""


def mean(values):
    known = [v for v in values if v is not None]  # None: a class without images
    return sum(known) / len(known)


def record(steps, gan_test, gan_train, diversity, pixel=None, seconds=600.0):
    """A levers.json as the bench writes it, with the per-class figures given."""
    out = {"steps": steps, "stage1_s": seconds, "generator": {
        "gan_test": {"overall": mean(gan_test), "per_class": gan_test},
        "gan_train": {"overall": gan_train}, "diversity": {"per_class": diversity},
        "fid": 1500.4, "fid_real_vs_real": 700.0}}
    if pixel is not None:
        out["pixel_probe"] = {"gan_test": {"overall": mean(pixel),
                                           "per_class": pixel}}
    return out


def test_rows_come_shortest_first_with_the_targets_each_length_meets(tmp_path):
    (tmp_path / "levers-4200.json").write_text(json.dumps(
        record(4200, [0.9, 0.5, None], 0.45, [0.8, 0.9, None], pixel=[0.5, 0.25])))
    (tmp_path / "levers-2100.json").write_text(json.dumps(
        record(2100, [1.0, 1.0, 0.2], 0.2, [0.5, 1.0], seconds=None)))
    (tmp_path / "levers.json").write_text("not read")
    rows = gan_scaling_table.table(gan_scaling_table.lengths(tmp_path)).splitlines()
    assert rows[2] == ("| 2,100 | ? | 0.733 (0.20) |  | 0.200 | 1500 (700) | 0.50 / 0.75 | "
                       "GAN-test |")
    # At the thresholds themselves a target counts as met.
    assert rows[3] == ("| 4,200 | 10.0 | 0.700 (0.50) | 0.375 (0.25) | 0.450 | 1500 (700) | "
                       "0.80 / 0.85 | all |")
    assert rows[4].startswith("| target |")


def test_a_length_below_every_target_says_none():
    f = gan_scaling_table.figures(record(10, [0.1, 0.2], 0.1, [0.1, 0.3]))
    assert gan_scaling_table.targets_met(f) == []


def test_a_folder_without_lengths_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="no levers-STEPS.json"):
        gan_scaling_table.lengths(tmp_path)


def run_script(tmp_path, *args, **env):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "python").chmod(0o755)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    out = tmp_path / "out"
    name = env.get("NAME", "proj32-hinge-scale")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gan_scaling.sh"), "data.tar.gz", str(out), *args],
        check=True, capture_output=True, text=True,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls),
             "GRID_DIR": str(out / name), **env})
    return calls.read_text().splitlines(), out / name, done.stdout


def test_each_length_extends_one_run_then_the_table_is_written(tmp_path):
    calls, folder, stdout = run_script(tmp_path, STEPS="100 200")
    assert len(calls) == 3
    for call, steps in zip(calls, ("100", "200")):
        assert call.split("--steps ")[1].split()[0] == steps
        assert "--name proj32-hinge-scale" in call and "--pixel-probe" in call
        assert "--set gan.discriminator=projected" in call and "--set gan.loss=hinge" in call
    assert calls[2].endswith(f"gan_scaling_table.py {folder}")
    # Each length's grid is kept beside the table.
    assert "--steps 100" in (folder / "synthetic_grid-100.png").read_text()
    assert "--steps 200" in (folder / "synthetic_grid-200.png").read_text()
    assert (folder / "scaling.md").read_text() == "the table\n" == stdout


def test_given_bench_arguments_replace_the_default_variant(tmp_path):
    calls, _, _ = run_script(tmp_path, "--set", "gan.mode_seeking_weight=1.0", STEPS="50",
                             NAME="ms", THREADS="1")
    assert "--name ms" in calls[0] and "--threads 1" in calls[0]
    assert "--set gan.mode_seeking_weight=1.0" in calls[0] and "projected" not in calls[0]
