"""What each row of a reproduce table cost to train, beside its mAP.

Why: the paper's claim is tested "at the same wall time" as the other rows, so the table has to
say how long each row trained. A row's cost on one seed is the sum over its nets: one net when
its code lengths share a trunk (``shared_trunk`` in the unit), one per code length otherwise.
Stage 1 (the GAN) is shown apart: the rows that use synthetic images share it. The seconds are
every sitting of a resumed run together (train/training_clock.py); a unit without them (written
before they were counted) leaves its row's cell unknown.
"""

from __future__ import annotations

import numpy as np

from dshgan.report.tables import MISSING


def _per_seed(cells: dict) -> dict[int, dict[str, float | None]]:
    """{seed: {"train_s": the row's seconds on that seed, "stage1_s": ...}}."""
    nets: dict[int, dict] = {}  # seed -> {net: seconds}; a shared trunk is one net
    stage1: dict[int, float | None] = {}
    for cell in cells.values():
        for run in cell["runs"]:
            net = "shared" if run.get("shared_trunk") else run["bits"]
            nets.setdefault(run["seed"], {})[net] = run.get("train_s")
            stage1[run["seed"]] = run.get("stage1_s") or stage1.get(run["seed"])
    return {seed: {"train_s": None if None in by_net.values() else sum(by_net.values()),
                   "stage1_s": stage1[seed]} for seed, by_net in nets.items()}


def training_minutes(table: dict) -> dict[str, dict[str, float | None]]:
    """Per row: mean minutes over seeds of training (``train``) and of stage 1 (``stage1``,
    None for rows without a GAN), and the number of seeds."""
    out = {}
    for method, cells in table.items():
        seeds = _per_seed(cells)
        row = {"seeds": len(seeds)}
        for key, name in (("train_s", "train"), ("stage1_s", "stage1")):
            values = [d[key] for d in seeds.values()]
            row[name] = (None if not values or any(v is None for v in values)
                         else float(np.mean(values)) / 60)
        out[method] = row
    return out


def training_time_lines(table: dict) -> list[str]:
    """The markdown block for results.md."""
    minutes = training_minutes(table)
    if not minutes:
        return []

    def fmt(v):
        return MISSING if v is None else f"{v:.1f}"

    intro = ("**Training time** (minutes, mean over seeds; every sitting of a resumed run "
             "together; times from other machines or loads do not compare):")
    lines = ["", intro, "",
             "| Method | training, all code lengths | stage 1 (shared by the GAN rows) | seeds |",
             "| :--- | ---: | ---: | ---: |"]
    for method, row in minutes.items():
        lines.append(f"| {method} | {fmt(row['train'])} | {fmt(row['stage1'])} | {row['seeds']} |")
    return lines
