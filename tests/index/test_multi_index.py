"""Multi-index hashing returns exactly what the exact scan returns, whichever path answers."""

import numpy as np
import pytest

from dshgan.index import HammingIndex
from dshgan.index.kernels import scratch_for
from dshgan.index.multi_index import split_substrings, table_radii
from dshgan.index.packing import to_planes


def pair(db, substrings, ids=None):
    flat, mih = HammingIndex(db.shape[1]), HammingIndex(db.shape[1], multi_index=substrings)
    flat.add(db, ids)
    mih.add(db, ids)
    return flat, mih


def mih_status(index, q, radius, k):
    """Which queries MIH itself answered (True) rather than handing back to the scan."""
    tables = index._mih_tables()
    qp = np.packbits(q, axis=1)
    qplanes, scratch = to_planes(qp, index.bits), scratch_for(index.bits)[0]
    active = tables.range(qp, qplanes, radius, 1, scratch)[0]
    status = tables.knn(qp, qplanes, k, 1024, 1, scratch)[0]
    return active, status == 0


@pytest.mark.parametrize("bits", [12, 63, 64, 65, 200])
@pytest.mark.parametrize("substrings", [1, 2, 3, 4])
def test_mih_equals_exact_search(bits, substrings, rng, ref):
    centres = ref.random_codes(rng, 8, bits)
    db = ref.clustered_codes(rng, 1500, bits, centres)
    q = np.vstack([ref.clustered_codes(rng, 20, bits, centres), ref.random_codes(rng, 4, bits)])
    flat, mih = pair(db, substrings)
    mih._mih_tables().budget_fraction = 1.0  # let MIH answer rather than fall back
    for radius in (0, 1, 2, 3, 5):
        ref.same(mih.range_search(q, radius), flat.range_search(q, radius))
    for k in (1, 10, 60):
        ref.same(mih.search(q, k), flat.search(q, k))
    if substrings >= 3:  # short probes: MIH answers the clustered queries itself
        active, knn_ok = mih_status(mih, q, 2, 10)
        assert active[:20].all()
        if bits <= 65:  # at 200 bits the 10th neighbour lies too far for cheap probing
            assert knn_ok[:20].all()


def test_mih_ties_custom_ids_and_updates(rng, ref):
    bits = 40
    centres = ref.random_codes(rng, 3, bits)
    db = ref.clustered_codes(rng, 2000, bits, centres, flip=0.02)  # many exact duplicates
    ids = rng.permutation(50_000)[:2000]
    flat, mih = pair(db, 3, ids)
    mih._mih_tables().budget_fraction = 1.0
    q = ref.clustered_codes(rng, 15, bits, centres, flip=0.02)
    ref.same(mih.search(q, 100), ref.knn(db, ids, q, 100))
    ref.same(mih.range_search(q, 2), ref.range(db, ids, q, 2))
    # tables are rebuilt after a change
    removed = ids[::3]
    assert mih.remove(removed) == flat.remove(removed)
    extra = ref.clustered_codes(rng, 100, bits, centres)
    mih.add(extra)
    flat.add(extra)
    mih._mih_tables().budget_fraction = 1.0
    ref.same(mih.search(q, 30), flat.search(q, 30))
    ref.same(mih.range_search(q, 3), flat.range_search(q, 3))
    assert mih.nbytes > flat.nbytes  # tables and their code copies are extra


def test_fallback_to_scan_keeps_results_exact(rng, ref):
    db, q = ref.random_codes(rng, 3000, 64), ref.random_codes(rng, 12, 64)
    flat, mih = pair(db, 4)
    mih._mih_tables().budget_fraction = 0.0  # every query over budget
    ref.same(mih.search(q, 20), flat.search(q, 20))
    ref.same(mih.range_search(q, 3), flat.range_search(q, 3))
    _, knn_ok = mih_status(mih, q, 3, 20)
    assert not knn_ok.all()


def test_empty_and_tiny_mih_index(rng, ref):
    index = HammingIndex(32, multi_index=4)
    q = ref.random_codes(rng, 3, 32)
    assert (index.search(q, 2)[1] == -1).all()
    assert index.range_search(q, 2)[0].tolist() == [0, 0, 0, 0]
    index.add(q[:1])
    ref.same(index.search(q, 2), ref.knn(q[:1], np.arange(1), q, 2))
    ref.same(index.range_search(q, 32), ref.range(q[:1], np.arange(1), q, 32))


def test_substrings_and_pigeonhole_radii():
    starts, lengths = split_substrings(64, 3)
    assert lengths.tolist() == [22, 21, 21] and starts.tolist() == [0, 22, 43]
    with pytest.raises(ValueError):
        split_substrings(8, 9)
    for m in (1, 2, 3, 4, 7):
        for r in range(20):
            radii = table_radii(r, m)
            # a code beyond every table's radius differs in > r bits: the pigeonhole bound
            assert int((radii + 1).sum()) == r + 1
            assert list(radii) == sorted(radii, reverse=True)
