import numpy as np
import pytest

from dshgan.metrics import evaluate, mean_average_precision
from dshgan.metrics.inputs import check_topk, prepare_inputs

Q = np.array([[0, 1, 1], [1, 0, 0]])
DB = np.array([[0, 1, 0], [1, 1, 1], [0, 0, 0]])


@pytest.mark.parametrize("args,err,match", [
    ((Q, [0], DB, [0, 1, 2]), ValueError, "query_labels"),
    ((Q, [0, 1], DB, [0, 1]), ValueError, "db_labels"),
    ((Q, [0, 1], DB[:, :2], [0, 1, 2]), ValueError, "bits"),
    ((Q * 2, [0, 1], DB, [0, 1, 2]), ValueError, "query_codes"),
    ((Q, [0, 1], DB * 0.5, [0, 1, 2]), ValueError, "db_codes"),
    ((Q[0], [0], DB, [0, 1, 2]), ValueError, "query_codes"),
    ((Q, np.zeros((2, 2, 2)), DB, [0, 1, 2]), ValueError, "query_labels"),
    ((Q, [0, 1], DB, np.eye(3, dtype=int)), ValueError, "both"),
    ((Q, np.eye(2, 3), DB, np.eye(3, 4)), ValueError, "label columns"),
    ((Q, np.full((2, 3), 2), DB, np.eye(3)), ValueError, "query_labels"),
    ((Q, [0.5, 1], DB, [0, 1, 2]), ValueError, "query_labels"),
    ((Q, ["a", "b"], DB, [0, 1, 2]), TypeError, "query_labels"),
    ((Q[:0], [], DB, [0, 1, 2]), ValueError, "empty"),
    ((Q, [0, 1], DB[:0], []), ValueError, "empty"),
])
def test_bad_inputs_are_named(args, err, match):
    with pytest.raises(err, match=match):
        prepare_inputs(*args)
    with pytest.raises(err, match=match):
        evaluate(*args)


def test_accepted_forms_agree():
    ql, dl = np.array([0, 1]), np.array([0, 1, 1])
    base = mean_average_precision(Q, ql, DB, dl)
    assert mean_average_precision(Q.astype(bool), ql, DB.astype(bool), dl) == base
    assert mean_average_precision(Q.astype(np.float32), ql.astype(float), DB, dl) == base
    # one-hot labels mean the same relevance as class ids
    assert mean_average_precision(Q, np.eye(2)[ql], DB, np.eye(2)[dl]) == base


@pytest.mark.parametrize("topk,err", [(-1, ValueError), (0, ValueError), (2.0, TypeError),
                                      (True, TypeError)])
def test_bad_topk(topk, err):
    with pytest.raises(err, match="topk"):
        check_topk(topk, 10)
    with pytest.raises(err, match="topk"):
        mean_average_precision(Q, [0, 1], DB, [0, 1, 2], topk=topk)


def test_topk_clips_to_database():
    assert check_topk(None, 10) == 10 and check_topk(50, 10) == 10 and check_topk(3, 10) == 3
