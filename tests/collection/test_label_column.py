"""LabelColumn against a plain list of lists: extend, keep, counts, JSON round trip."""

import json

import numpy as np
import pytest

from dshgan.collection.label_column import LabelColumn


def test_matches_a_list_of_lists():
    rng = np.random.default_rng(0)
    names = ["cat", "dog", "owl", "bee"]
    ref: list[list[str]] = []
    column = LabelColumn()
    for _ in range(6):
        batch = [[names[j] for j in rng.choice(4, rng.integers(0, 3), replace=False)]
                 for _ in range(rng.integers(0, 30))]
        column.extend(batch)
        ref += batch
        keep = np.flatnonzero(rng.random(len(ref)) < 0.8)
        column.keep(keep)
        ref = [ref[i] for i in keep]
        assert column.to_lists() == ref and len(column) == len(ref)
        doc = json.loads(json.dumps(column.to_json()))
        assert LabelColumn.from_json(doc, len(ref)).to_lists() == ref
    counts = {}
    for item in ref:
        for x in item:
            counts[x] = counts.get(x, 0) + 1
    assert column.counts() == dict(sorted(counts.items()))
    assert column.unlabelled() == sum(not item for item in ref)
    column.keep(np.zeros(0, np.int64))
    assert column.to_lists() == [] and column.to_json() is None
    assert LabelColumn.from_json(None, 3).to_lists() == [[], [], []]


def test_inconsistent_columns_refused():
    with pytest.raises(ValueError, match="inconsistent"):
        LabelColumn(["a"], np.array([0, 1]), np.array([0, 1, 2]))  # number 1 has no name
    with pytest.raises(ValueError, match="inconsistent"):
        LabelColumn(["a"], np.array([0]), np.array([0, 2]))
    with pytest.raises(ValueError, match="2 label rows for 3 items"):
        LabelColumn.from_json(LabelColumn(["a"], np.array([0]), np.array([0, 1, 1])).to_json(), 3)
