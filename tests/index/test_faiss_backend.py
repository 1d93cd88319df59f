"""The faiss back end answers exactly like the exact scan (faiss is an optional extra)."""

import numpy as np
import pytest

pytest.importorskip("faiss")

from dshgan.index import HammingIndex
from dshgan.index.faiss_backend import FaissHammingIndex


@pytest.mark.parametrize("bits", [1, 12, 63, 64, 65, 200])
def test_faiss_equals_brute_force(bits, rng, ref):
    centres = ref.random_codes(rng, 4, bits)
    db = np.vstack([ref.random_codes(rng, 300, bits), ref.clustered_codes(rng, 300, bits,
                                                                           centres)])
    q = np.vstack([ref.random_codes(rng, 6, bits), ref.clustered_codes(rng, 6, bits, centres)])
    ids = rng.permutation(5000)[:600]
    index = FaissHammingIndex(bits)
    index.add(db, ids)
    for k in (1, 10, 600, 610):
        ref.same(index.search(q, k), ref.knn(db, ids, q, k))
    for radius in (0, 2, bits // 4, bits):  # inclusive, although faiss's own is strict
        ref.same(index.range_search(q, radius), ref.range(db, ids, q, radius))


def test_faiss_updates_save_and_empty(tmp_path, rng, ref):
    index = FaissHammingIndex(30)
    q = ref.random_codes(rng, 4, 30)
    assert (index.search(q, 3)[1] == -1).all()
    db = ref.random_codes(rng, 200, 30)
    index.add(db[:100])
    index.search(q, 3)  # builds the faiss copy, which the next changes must refresh
    index.add(db[100:], ids=np.arange(500, 600))
    index.remove(np.arange(0, 100, 2))
    flat = HammingIndex(30)
    flat.add(db[:100])
    flat.add(db[100:], ids=np.arange(500, 600))
    flat.remove(np.arange(0, 100, 2))
    ref.same(index.search(q, 20), flat.search(q, 20))
    index.save(tmp_path / "f.dshx")
    loaded = FaissHammingIndex.load(tmp_path / "f.dshx")
    assert isinstance(loaded, FaissHammingIndex)
    ref.same(loaded.range_search(q, 8), flat.range_search(q, 8))
    with pytest.raises(ValueError, match="multi-index"):
        FaissHammingIndex(30, multi_index=2)
