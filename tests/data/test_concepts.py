import numpy as np
import pytest

from dshgan.data.concepts import top_concepts
from dshgan.data.errors import DataError


def test_keeps_the_most_frequent_concepts_and_drops_images_left_with_none():
    labels = np.array([
        [1, 0, 0, 1],  # keeps concept d
        [0, 1, 0, 0],  # only b: dropped when b is not kept
        [1, 0, 1, 1],
        [0, 0, 0, 0],  # unlabelled from the start: kept as unlabelled
        [0, 0, 1, 1],
    ], np.uint8)  # counts a=2, b=1, c=2, d=3
    rows, kept, names = top_concepts(labels, ["a", "b", "c", "d"], 3)
    assert names == ["a", "c", "d"]  # source column order among the kept
    assert rows.tolist() == [0, 2, 3, 4]
    assert kept.tolist() == [[1, 0, 1], [1, 1, 1], [0, 0, 0], [0, 1, 1]]


def test_ties_keep_the_earlier_concept():
    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.uint8)
    _, _, names = top_concepts(labels, ["x", "y", "z"], 2)
    assert names == ["x", "y"]


@pytest.mark.parametrize("n", [0, 4])
def test_impossible_counts_are_refused(n):
    with pytest.raises(DataError, match="top_concepts"):
        top_concepts(np.eye(3, dtype=np.uint8), ["x", "y", "z"], n)
