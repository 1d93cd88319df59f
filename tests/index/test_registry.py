import importlib.util

import numpy as np
import pytest

from dshgan.index import HammingIndex, create_index, list_indexes, register_index

HAVE_FAISS = importlib.util.find_spec("faiss") is not None


def test_registry_lists_the_back_ends():
    assert {"flat", "mih", "faiss"} <= set(list_indexes())


@pytest.mark.parametrize("name", ["flat", "mih", "mih:2", "mih:5", "faiss"])
def test_every_index_answers_the_same(name, rng, ref):
    if name == "faiss" and not HAVE_FAISS:
        pytest.skip("faiss not installed")
    db, q = ref.random_codes(rng, 400, 40), ref.random_codes(rng, 5, 40)
    index = create_index(name, bits=40)
    assert isinstance(index, HammingIndex)
    index.add(db)
    ref.same(index.search(q, 15), ref.knn(db, np.arange(400), q, 15))
    ref.same(index.range_search(q, 12), ref.range(db, np.arange(400), q, 12))


def test_mih_options():
    assert create_index("mih:4", bits=64).multi_index == 4
    assert create_index("mih", bits=64).multi_index == 3  # about 20 bits per substring
    assert create_index("flat", bits=64).multi_index is None


def test_bad_names():
    with pytest.raises(ValueError, match="unknown index"):
        create_index("annoy", bits=8)
    with pytest.raises(ValueError, match="integer"):
        create_index("mih:x", bits=8)
    with pytest.raises(ValueError, match="no option"):
        create_index("flat:2", bits=8)
    with pytest.raises(ValueError, match="already registered"):
        register_index("flat")(lambda bits, option: HammingIndex(bits))
