import json

import numpy as np
import pytest

from dshgan.metrics import (
    evaluate,
    mean_average_precision,
    metric_conventions,
    precision_at_n,
    precision_recall_curve,
    precision_within_radius,
)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("topk", [None, 20])
def test_evaluate_agrees_with_each_metric(ref, multi, topk):
    qc, ql, dc, dl = ref.random_case(11 + multi, 9, 150, 6, multi)
    out = evaluate(qc, ql, dc, dl, topk=topk, pr_ns=[10, 100])
    json.dumps(out)  # plain python types only
    assert out["map"] == pytest.approx(ref.ap_loop(qc, ql, dc, dl, topk).mean(), abs=1e-12)
    assert out["map_tie_aware"] == pytest.approx(
        mean_average_precision(qc, ql, dc, dl, topk=topk, tie_aware=True), abs=1e-15)
    assert out["precision_r2"] == pytest.approx(precision_within_radius(qc, ql, dc, dl), abs=0)
    curve = precision_recall_curve(qc, ql, dc, dl)
    assert out["pr_curve"]["radius"] == list(range(7))
    np.testing.assert_allclose(out["pr_curve"]["precision"], curve.precision)
    np.testing.assert_allclose(out["pr_curve"]["recall"], curve.recall)
    assert out["precision_at_n"]["n"] == [10, 100]
    np.testing.assert_allclose(out["precision_at_n"]["precision"],
                               precision_at_n(qc, ql, dc, dl, [10, 100]))
    assert out["topk"] == topk and out["bits"] == 6
    assert out["num_queries"] == 9 and out["num_database"] == 150
    assert out["conventions"] == metric_conventions(topk)


def test_default_ns_fit_the_database(ref):
    qc, ql, dc, dl = ref.random_case(2, 3, 250, 4, False)
    assert evaluate(qc, ql, dc, dl)["precision_at_n"]["n"] == [100, 200]
    assert evaluate(qc[:, :], ql, dc[:50], dl[:50])["precision_at_n"]["n"] == [50]


def test_conventions_name_the_cutoff():
    assert "whole database" in metric_conventions(None)["cutoff"]
    assert "5000" in metric_conventions(5000)["cutoff"]
    assert set(metric_conventions(None)) >= {"relevance", "average_precision", "ties",
                                             "precision_within_radius"}
