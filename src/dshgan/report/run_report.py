"""One run's results as ``metrics.json`` (for programs) and ``report.md`` (for people).

``metrics`` follows the schema the evaluation code writes::

    {"dataset": str, "protocol": str, "seed": int, "topk": int | None,
     "conventions": {name: text},
     "results": {method: {"<bits>": {"map": float, "map_tie_aware": float,
                                     "precision_r2": float,
                                     "pr_curve": {"radius": [...], "precision": [...],
                                                  "recall": [...]},
                                     "precision_at_n": {"n": [...], "precision": [...]}}}},
     "timing": {stage: seconds}}

A metric value may also be a ``[mean, std]`` pair (several seeds); it is shown as ``mean ± std``.
The conventions travel with the numbers because peers disagree silently on them (docs/design.md,
"Metric conventions").
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from dshgan.io_utils import atomic_write_text
from dshgan.report.plots import plot_pr_curves, plot_precision_at_n
from dshgan.report.tables import (
    Cell,
    Rows,
    as_cell,
    map_table_markdown,
    to_jsonable,
    write_json,
)

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
PR_CURVE_FILE = "pr_curve.png"
PRECISION_AT_N_FILE = "precision_at_n.png"

_KNOWN_KEYS = ("dataset", "protocol", "seed", "topk", "conventions", "results", "timing")
_REQUIRED_KEYS = ("dataset", "protocol", "seed", "results")


def _check_metrics(metrics: Any) -> Mapping[str, Any]:
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a dict, got {type(metrics).__name__}")
    missing = [k for k in _REQUIRED_KEYS if k not in metrics]
    if missing:
        raise ValueError(f"metrics is missing {missing}; it needs {list(_REQUIRED_KEYS)}")
    results = metrics["results"]
    if not isinstance(results, Mapping) or not results:
        raise ValueError("metrics['results'] must be a non-empty dict {method: {bits: {...}}}")
    for method, per_bits in results.items():
        if not isinstance(per_bits, Mapping):
            raise TypeError(f"metrics['results'][{method!r}] must be a dict {{bits: metrics}}, "
                            f"got {type(per_bits).__name__}")
        for b, entry in per_bits.items():
            if not str(b).strip().isdigit():
                raise ValueError(f"metrics['results'][{method!r}] has code length key {b!r}; "
                                 "expected a decimal string such as '32'")
            if not isinstance(entry, Mapping):
                raise TypeError(f"metrics['results'][{method!r}][{b!r}] must be a dict, "
                                f"got {type(entry).__name__}")
    for key in ("conventions", "timing"):
        if metrics.get(key) is not None and not isinstance(metrics[key], Mapping):
            raise TypeError(f"metrics[{key!r}] must be a dict, got {type(metrics[key]).__name__}")
    return metrics


def result_bits(metrics: Mapping[str, Any]) -> list[int]:
    """Every code length that any method reports, ascending."""
    return sorted({int(b) for per_bits in metrics["results"].values() for b in per_bits})


def _entry(per_bits: Mapping[Any, Any], bits: int) -> Mapping[str, Any] | None:
    for key in (str(bits), bits):
        if key in per_bits:
            return per_bits[key]
    return None


def metric_rows(metrics: Mapping[str, Any], key: str) -> dict[str, dict[int, Cell]]:
    """``{method: {bits: value}}`` of one scalar metric (e.g. ``"map"``) for the tables."""
    _check_metrics(metrics)
    rows: dict[str, dict[int, Cell]] = {}
    for method, per_bits in metrics["results"].items():
        rows[method] = {
            int(b): as_cell(entry.get(key), f"metrics['results'][{method!r}][{b!r}][{key!r}]")
            for b, entry in per_bits.items()
        }
    return rows


def _any_value(rows: Mapping[str, Mapping[int, Cell]]) -> bool:
    return any(v is not None for row in rows.values() for v in row.values())


def _figure_link(run_dir: Path, caption: str, filename: str | os.PathLike) -> str:
    target = Path(filename)
    full = target if target.is_absolute() else run_dir / target
    if not full.is_file():
        raise FileNotFoundError(f"figure {caption!r}: {full} does not exist; draw it before "
                                "writing the report (see figures_from_metrics)")
    rel = Path(os.path.relpath(full, run_dir)).as_posix()
    if any(c in rel for c in " ()<>"):
        rel = f"<{rel}>"  # CommonMark form for link targets with spaces or brackets
    return f"![{caption}]({rel})"


def _flatten(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out += _flatten(v, name + ".")
        else:
            out.append((name, v))
    return out


def _format_seconds(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return str(value)
    s = float(value)
    if not math.isfinite(s) or s < 60:
        return f"{s:.1f}"
    minutes, sec = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    human = f"{hours} h {minutes} min" if hours else f"{minutes} min {sec} s"
    return f"{s:.1f} ({human})"


def _cutoff(topk: Any) -> str:
    return "whole database" if topk is None else f"top {topk}"


def render_report(
    metrics: Mapping[str, Any],
    config: Mapping[str, Any] | Any,
    figures: Mapping[str, str] | None = None,
    run_dir: str | os.PathLike = ".",
    reference: Rows | None = None,
    compare: tuple[str, str] | Sequence[tuple[str, str]] | None = None,
) -> str:
    """The text of ``report.md``; figure paths are checked and written relative to ``run_dir``."""
    _check_metrics(metrics)
    run_dir = Path(run_dir)
    bits = result_bits(metrics)
    topk = metrics.get("topk")
    lines = [f"# Run report: {metrics['dataset']}, protocol {metrics['protocol']}", ""]
    run_facts = [
        ("dataset", metrics["dataset"]),
        ("protocol", metrics["protocol"]),
        ("seed", metrics["seed"]),
        ("mAP cut-off", f"{_cutoff(topk)} (topk={topk})"),
        ("methods", ", ".join(metrics["results"])),
        ("code lengths", ", ".join(str(b) for b in bits)),
    ]
    for key, value in metrics.items():  # other scalars the evaluator chose to record
        if key not in _KNOWN_KEYS and (value is None or isinstance(value, (str, int, float))):
            run_facts.append((key, value))
    lines += [f"- **{k}**: {v}" for k, v in run_facts] + [""]

    lines += [f"## mAP ({_cutoff(topk)})", ""]
    lines.append(map_table_markdown(metric_rows(metrics, "map"), bits, reference=reference,
                                    compare=compare))
    tie = metric_rows(metrics, "map_tie_aware")
    if _any_value(tie):
        note = ("Expected AP over every order of items at equal Hamming distance "
                "(McSherry and Najork, 2008); it does not depend on how ties are broken.")
        lines += ["## Tie-aware mAP", "", note, ""]
        lines.append(map_table_markdown(tie, bits))
    pr2 = metric_rows(metrics, "precision_r2")
    if _any_value(pr2):
        lines += ["## Precision within Hamming radius 2", "",
                  "A query whose radius-2 ball is empty counts as precision 0.", ""]
        lines.append(map_table_markdown(pr2, bits))

    conventions = metrics.get("conventions") or {}
    if conventions:
        lines += ["## Conventions", ""]
        lines += [f"- **{k}**: {v}" for k, v in conventions.items()] + [""]

    if figures:
        lines += ["## Figures", ""]
        for caption, filename in figures.items():
            lines += [f"### {caption}", "", _figure_link(run_dir, caption, filename), ""]

    timing = metrics.get("timing") or {}
    if timing:
        lines += ["## Timing", "", "| stage | seconds |", "| :--- | ---: |"]
        lines += [f"| {k} | {_format_seconds(v)} |" for k, v in _flatten(timing)] + [""]

    lines += ["## Resolved config", "", "```yaml"]
    dumped = yaml.safe_dump(to_jsonable(config), sort_keys=False, allow_unicode=True)
    lines += [dumped.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def write_run_report(
    run_dir: str | os.PathLike,
    metrics: dict,
    config: dict,
    figures: dict[str, str] | None = None,
    reference: Rows | None = None,
    compare: tuple[str, str] | Sequence[tuple[str, str]] | None = None,
) -> Path:
    """Write ``metrics.json`` (the dict as given) and ``report.md`` into ``run_dir``.

    ``figures`` maps a caption to a PNG path, relative to ``run_dir`` or absolute; the files
    must exist. ``reference``/``compare`` put the paper's numbers next to ours in the mAP
    table (see :func:`~dshgan.report.tables.map_table_markdown`). Returns the report's path.
    """
    run_dir = Path(run_dir)
    text = render_report(metrics, config, figures, run_dir, reference, compare)
    write_json(metrics, run_dir / METRICS_FILE)
    return atomic_write_text(run_dir / REPORT_FILE, text)


def _curve(entry: Mapping[str, Any] | None, key: str, fields: tuple[str, str], where: str):
    if entry is None or entry.get(key) is None:
        return None
    curve = entry[key]
    if not isinstance(curve, Mapping) or any(f not in curve for f in fields):
        raise ValueError(f"{where}[{key!r}] must be a dict with keys {list(fields)}")
    return tuple(np.asarray(curve[f], dtype=np.float64) for f in fields)


def figures_from_metrics(
    metrics: Mapping[str, Any], run_dir: str | os.PathLike, bits: int, dpi: int = 100
) -> dict[str, str]:
    """Draw ``pr_curve.png`` and ``precision_at_n.png`` for every method at ``bits``.

    Methods without a curve at that code length are left out; returns ``{caption: filename}``
    (file names relative to ``run_dir``), ready for :func:`write_run_report`.
    """
    _check_metrics(metrics)
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an int, got {bits!r}")
    run_dir = Path(run_dir)
    pr, pn = {}, {}
    for method, per_bits in metrics["results"].items():
        entry = _entry(per_bits, int(bits))
        where = f"metrics['results'][{method!r}][{str(bits)!r}]"
        if (c := _curve(entry, "pr_curve", ("precision", "recall"), where)) is not None:
            pr[method] = c
        if (c := _curve(entry, "precision_at_n", ("n", "precision"), where)) is not None:
            pn[method] = c
    if not pr and not pn:
        raise ValueError(f"no method has a PR or P@N curve at {bits} bits "
                         f"(code lengths in the results: {result_bits(metrics)})")
    title = f"{metrics['dataset']}, {bits} bits"
    out = {}
    if pr:
        plot_pr_curves(pr, run_dir / PR_CURVE_FILE, title=title, dpi=dpi)
        out[f"PR curve ({bits} bits)"] = PR_CURVE_FILE
    if pn:
        plot_precision_at_n(pn, run_dir / PRECISION_AT_N_FILE, title=title, dpi=dpi)
        out[f"Precision@N ({bits} bits)"] = PRECISION_AT_N_FILE
    return out
