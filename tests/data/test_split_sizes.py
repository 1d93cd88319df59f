import numpy as np
import pytest

from dshgan.data.errors import DataError
from dshgan.data.split_sizes import resolve_protocol


def _labels(counts):
    rows = [np.eye(len(counts), dtype=np.uint8)[k] for k, c in enumerate(counts) for _ in range(c)]
    return np.stack(rows)


def test_auto_is_sized_from_the_smallest_class_and_says_so():
    labels = _labels([31, 800, 55])
    proto, why = resolve_protocol("auto", labels, ["accordion", "b", "c"], False)
    assert (proto.query_per_class, proto.labelled_per_class, proto.validation_per_class) == \
        (6, 25, 2)  # 20% of 31 as queries, the rest labelled, a tenth of those validation
    assert proto.labelled_in_database
    assert "'accordion' (31 labelled images)" in why and "6 queries" in why


def test_auto_needs_three_images_in_every_class():
    with pytest.raises(DataError, match="smallest class has 2"):
        resolve_protocol("auto", _labels([2, 10]), ["a", "b"], False)


def test_counts_and_shares_override_a_named_protocol():
    labels = _labels([100, 120])
    proto, why = resolve_protocol("demo", labels, ["a", "b"], False,
                                  {"query_per_class": 0.1, "labelled_per_class": 30,
                                   "labelled_in_database": True, "topk": None})
    assert proto.query_per_class == 10  # a tenth of the smallest class
    assert proto.labelled_per_class == 30 and proto.validation_per_class == 6  # demo's 6
    assert proto.labelled_in_database and proto.topk is None
    assert "from the config" in why


def test_train_only_has_no_queries():
    proto, why = resolve_protocol("auto", _labels([10, 10]), ["a", "b"], False,
                                  {"query_per_class": 0})
    assert proto.query_per_class == 0 and "no test queries" in why


def test_validation_must_leave_training_images():
    with pytest.raises(DataError, match="validation_per_class"):
        resolve_protocol("demo", _labels([100, 100]), ["a", "b"], False,
                         {"labelled_per_class": 5, "validation_per_class": 5})
