import json

import numpy as np
import pytest
import yaml
from PIL import Image

from dshgan.report.run_report import figures_from_metrics, metric_rows, write_run_report


def _metrics():
    radius = np.arange(13)
    return {
        "dataset": "cifar10",
        "protocol": "cifar10",
        "seed": 7,
        "topk": None,
        "n_database": 54000,
        "conventions": {"relevance": "single-label: same label",
                        "ties": "database order (stable sort)"},
        "results": {
            "DSH-GAN": {
                "12": {"map": 0.7814, "map_tie_aware": 0.7702, "precision_r2": 0.6431,
                       "pr_curve": {"radius": radius, "precision": np.linspace(1, 0.3, 13),
                                    "recall": np.linspace(0, 1, 13)},
                       "precision_at_n": {"n": [100, 500, 1000], "precision": [0.9, 0.87, 0.85]}},
                "24": {"map": np.float32(0.8125), "map_tie_aware": 0.8011,
                       "precision_r2": 0.7213},
            },
            "ITQ": {
                "12": {"map": [0.1623, 0.0021], "map_tie_aware": 0.1544, "precision_r2": 0.2011,
                       "pr_curve": {"radius": [0, 1, 2], "precision": [0.5, 0.4, 0.3],
                                    "recall": [0.0, 0.1, 0.2]}},
            },
        },
        "timing": {"stage1": 75.3, "stage2": {"train": 3725.0}},
    }


def test_write_run_report_files_and_numbers(tmp_path):
    metrics = _metrics()
    figs = figures_from_metrics(metrics, tmp_path, bits=12, dpi=50)
    config = {"bits": [12, 24], "lr": 1e-4, "backbone": "efficientnet-lite0"}
    path = write_run_report(tmp_path, metrics, config, figures=figs)
    assert path == tmp_path / "report.md"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics.json", "pr_curve.png", "precision_at_n.png", "report.md"]

    back = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert back["seed"] == 7 and back["topk"] is None
    assert back["results"]["DSH-GAN"]["24"]["map"] == pytest.approx(0.8125)
    assert back["results"]["DSH-GAN"]["12"]["pr_curve"]["radius"] == list(range(13))
    assert back["results"]["ITQ"]["12"]["map"] == [0.1623, 0.0021]

    md = path.read_text(encoding="utf-8")
    assert md.startswith("# Run report: cifar10, protocol cifar10\n")
    assert "- **seed**: 7" in md and "- **n_database**: 54000" in md
    assert "## mAP (whole database)" in md
    assert "| DSH-GAN | 0.781 | 0.812 |" in md  # mAP
    assert "| ITQ | 0.162 ± 0.002 | – |" in md
    assert "| DSH-GAN | 0.770 | 0.801 |" in md  # tie-aware
    assert "| DSH-GAN | 0.643 | 0.721 |" in md  # precision within radius 2
    assert "| ITQ | 0.201 | – |" in md
    assert "- **ties**: database order (stable sort)" in md
    assert "![PR curve (12 bits)](pr_curve.png)" in md
    assert "![Precision@N (12 bits)](precision_at_n.png)" in md
    assert "| stage1 | 75.3 (1 min 15 s) |" in md
    assert "| stage2.train | 3725.0 (1 h 2 min) |" in md
    block = md.split("```yaml\n")[1].split("```")[0]
    assert yaml.safe_load(block) == config
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_sections_in_order_and_paper_comparison(tmp_path):
    metrics = _metrics()
    paper = {"DSH-GAN": {12: 0.8, 24: 0.81}}
    md = write_run_report(tmp_path, metrics, {}, reference=paper,
                          compare=("DSH-GAN", "DSH-GAN")).read_text(encoding="utf-8")
    order = ["## mAP", "## Tie-aware mAP", "## Precision within Hamming radius 2",
             "## Conventions", "## Timing", "## Resolved config"]
    positions = [md.index(h) for h in order]
    assert positions == sorted(positions)
    assert "## Figures" not in md
    assert "| DSH-GAN (paper) | 0.800 | 0.810 |" in md
    assert "| Δ DSH-GAN (ours − paper) | -0.019 | +0.002 |" in md


def test_topk_heading_and_optional_sections_skipped(tmp_path):
    metrics = {"dataset": "nuswide", "protocol": "nuswide21", "seed": 0, "topk": 5000,
               "results": {"LSH": {"32": {"map": 0.4}}}}
    md = write_run_report(tmp_path, metrics, {"a": 1}).read_text(encoding="utf-8")
    assert "## mAP (top 5000)" in md and "| LSH | 0.400 |" in md
    for absent in ("Tie-aware", "radius 2", "## Conventions", "## Timing", "## Figures"):
        assert absent not in md


def test_figures_from_metrics_skips_methods_without_curves(tmp_path):
    metrics = _metrics()
    figs = figures_from_metrics(metrics, tmp_path, bits=12, dpi=50)
    assert figs == {"PR curve (12 bits)": "pr_curve.png",
                    "Precision@N (12 bits)": "precision_at_n.png"}
    for name in figs.values():
        with Image.open(tmp_path / name) as im:
            assert im.format == "PNG" and im.size[0] > 0
    with pytest.raises(ValueError, match="24 bits"):
        figures_from_metrics(metrics, tmp_path, bits=24)


def test_metric_rows_reads_pairs_and_missing():
    rows = metric_rows(_metrics(), "map")
    assert rows["ITQ"] == {12: (0.1623, 0.0021)}
    assert rows["DSH-GAN"][24] == pytest.approx(0.8125)
    assert metric_rows(_metrics(), "absent") == {"DSH-GAN": {12: None, 24: None},
                                                 "ITQ": {12: None}}


def test_bad_metrics_and_missing_figure(tmp_path):
    with pytest.raises(ValueError, match="seed"):
        write_run_report(tmp_path, {"dataset": "d", "protocol": "p", "results": {}}, {})
    with pytest.raises(ValueError, match="results"):
        write_run_report(tmp_path, {"dataset": "d", "protocol": "p", "seed": 0, "results": {}},
                         {})
    bad = _metrics()
    bad["results"]["ITQ"]["twelve"] = {"map": 0.1}
    with pytest.raises(ValueError, match="twelve"):
        write_run_report(tmp_path, bad, {})
    with pytest.raises(FileNotFoundError, match="nope.png"):
        write_run_report(tmp_path, _metrics(), {}, figures={"PR": "nope.png"})
    # Nothing is written when the input is refused.
    assert list(tmp_path.iterdir()) == []
