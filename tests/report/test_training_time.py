from dshgan.report.training_time import training_minutes, training_time_lines


def _run(seed, bits, train_s, **extra):
    return {"seed": seed, "bits": bits, "train_s": train_s, **extra}


def _table(**rows):
    """{method: [runs]} to the aggregated table's shape: {method: {bits: {"runs": [...]}}}."""
    table = {}
    for method, runs in rows.items():
        for r in runs:
            table.setdefault(method, {}).setdefault(str(r["bits"]), {"runs": []})["runs"].append(r)
    return table


def test_a_shared_trunk_counts_once_and_separate_nets_add_up():
    table = _table(
        **{"DSH-GAN": [_run(0, 12, 600.0, shared_trunk=True, stage1_s=120.0),
                       _run(0, 48, 600.0, shared_trunk=True, stage1_s=120.0),
                       _run(1, 12, 1200.0, shared_trunk=True, stage1_s=240.0),
                       _run(1, 48, 1200.0, shared_trunk=True, stage1_s=240.0)],
           "ITQ": [_run(0, 12, 6.0), _run(0, 48, 12.0)]})
    minutes = training_minutes(table)
    assert minutes["DSH-GAN"] == {"seeds": 2, "train": 15.0, "stage1": 3.0}
    assert minutes["ITQ"] == {"seeds": 1, "train": 0.3, "stage1": None}


def test_a_unit_without_seconds_leaves_its_row_unknown():
    table = _table(DPSH=[_run(0, 12, None, shared_trunk=True), _run(1, 12, 60.0,
                                                                    shared_trunk=True)])
    assert training_minutes(table)["DPSH"]["train"] is None
    lines = training_time_lines(table)
    assert "| DPSH | – | – | 2 |" in lines
