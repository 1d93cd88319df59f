"""HammingIndex (exact scan) against the brute-force reference: odd widths, ties, ids, errors."""

import numba
import numpy as np
import pytest

from dshgan.index import HammingIndex, flat
from dshgan.index.kernels import CHUNK

PAD = np.iinfo(np.int32).max


def build(codes, ids=None, **kwargs) -> HammingIndex:
    index = HammingIndex(codes.shape[1], **kwargs)
    index.add(codes, ids)
    return index


@pytest.mark.parametrize("bits", [1, 12, 63, 64, 65, 200, 300])
@pytest.mark.parametrize("kind", ["random", "clustered"])
def test_knn_and_range_equal_brute_force(bits, kind, rng, ref):
    if kind == "random":
        db, q = ref.random_codes(rng, 700, bits), ref.random_codes(rng, 23, bits)
    else:
        centres = ref.random_codes(rng, 5, bits)
        db, q = ref.clustered_codes(rng, 700, bits, centres), ref.clustered_codes(
            rng, 23, bits, centres)
    index = build(db)
    ids = np.arange(700)
    for k in (1, 5, 100, 700, 705):
        distances, got_ids = index.search(q, k)
        assert distances.dtype == np.int32 and got_ids.dtype == np.int64
        assert distances.shape == got_ids.shape == (23, k)
        ref.same((distances, got_ids), ref.knn(db, ids, q, k))
    for radius in sorted({0, 1, 2, bits // 4, bits}):
        lims, d, i = index.range_search(q, radius)
        assert lims.dtype == np.int64 and d.dtype == np.int32 and i.dtype == np.int64
        ref.same((lims, d, i), ref.range(db, ids, q, radius))


def test_ties_resolved_by_id(ref, rng):
    # 12 bits over 3000 codes: every distance is shared by hundreds of codes
    db = ref.random_codes(rng, 3000, 12)
    db[100:400] = db[0]  # and a block of exact duplicates
    q = np.vstack([db[0], ref.random_codes(rng, 9, 12)])
    ids = rng.permutation(10_000)[:3000]  # ids not in storage order
    index = build(db, ids)
    for k in (1, 50, 301, 1000):
        ref.same(index.search(q, k), ref.knn(db, ids, q, k))
    ref.same(index.range_search(q, 3), ref.range(db, ids, q, 3))


def test_worst_case_order_fills_and_compacts_the_candidate_buffer(ref, rng):
    # codes met in order of decreasing distance: every one enters the running top k
    bits, n = 64, 3 * CHUNK + 5
    q = ref.random_codes(rng, 1, bits)
    db = ref.random_codes(rng, n, bits)
    db = db[np.argsort(-ref.distances(db, q)[0], kind="stable")]
    queries = np.vstack([q, ref.random_codes(rng, 40, bits)])
    index = build(db)
    for k in (1, 7, 64, 500):
        ref.same(index.search(queries, k), ref.knn(db, np.arange(n), queries, k))
    ref.same(index.range_search(queries, 30), ref.range(db, np.arange(n), queries, 30))


def test_large_answers_are_rerun_not_truncated(ref, rng):
    db = ref.random_codes(rng, 5000, 8)  # radius 8 returns every code
    index = build(db)
    ref.same(index.range_search(db[:3], 8), ref.range(db, np.arange(5000), db[:3], 8))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("multi_index", [None, 3])
def test_one_and_two_threads_agree(multi_index, ref, rng, monkeypatch):
    monkeypatch.setattr(flat, "SCAN_PER_THREAD", 1)  # parallel even for this small job
    monkeypatch.setattr(flat, "MIH_QUERIES_PER_THREAD", 1)
    centres = ref.random_codes(rng, 4, 64)
    db, q = ref.clustered_codes(rng, 2000, 64, centres), ref.clustered_codes(rng, 37, 64, centres)
    index = build(db, multi_index=multi_index)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = index.search(q, 10), index.range_search(q, 2)
        numba.set_num_threads(2)
        two = index.search(q, 10), index.range_search(q, 2)
    finally:
        numba.set_num_threads(before)
    ref.same(one[0], two[0])
    ref.same(one[1], two[1])
    ref.same(one[0], ref.knn(db, np.arange(2000), q, 10))


def test_packed_input_equals_bits(ref, rng):
    db, q = ref.random_codes(rng, 300, 20), ref.random_codes(rng, 5, 20)
    a = build(db)
    b = HammingIndex(20)
    b.add(np.packbits(db, axis=1), packed=True)
    ref.same(a.search(q, 9), b.search(np.packbits(q, axis=1), 9, packed=True))
    np.testing.assert_array_equal(b.codes(), db)
    np.testing.assert_array_equal(b.codes(packed=True), np.packbits(db, axis=1))


def test_bool_and_float_codes_accepted(ref, rng):
    db = ref.random_codes(rng, 50, 10)
    a, b = build(db.astype(bool)), build(db.astype(np.float32))
    ref.same(a.search(db[:3], 4), b.search(db[:3].astype(bool), 4))


def test_empty_index_and_k_beyond_size(ref, rng):
    index = HammingIndex(16)
    q = ref.random_codes(rng, 3, 16)
    d, i = index.search(q, 4)
    assert (d == PAD).all() and (i == -1).all() and d.shape == (3, 4)
    lims, d, i = index.range_search(q, 16)
    assert lims.tolist() == [0, 0, 0, 0] and d.size == i.size == 0
    assert len(index) == 0
    index.add(ref.random_codes(rng, 2, 16))
    d, i = index.search(q, 5)
    assert (i[:, 2:] == -1).all() and (d[:, 2:] == PAD).all() and (i[:, :2] >= 0).all()
    d, i = index.search(np.zeros((0, 16), np.uint8), 3)
    assert d.shape == (0, 3)


def test_ids_default_custom_remove(ref, rng):
    db = ref.random_codes(rng, 60, 33)
    index = HammingIndex(33)
    index.add(db[:20])
    index.add(db[20:40], ids=np.arange(1000, 1020)[::-1])  # descending, interleaved later
    index.add(db[40:])  # default ids continue after the largest: 1020..1039
    ids = np.concatenate([np.arange(20), np.arange(1000, 1020)[::-1], np.arange(1020, 1040)])
    np.testing.assert_array_equal(index.ids, np.sort(ids))
    ref.same(index.search(db, 7), ref.knn(db, ids, db, 7))

    gone = np.array([3, 1005, 1039, 99999])
    assert index.remove(gone) == 3
    assert len(index) == 57
    keep = ~np.isin(ids, gone)
    ref.same(index.search(db, 7), ref.knn(db[keep], ids[keep], db, 7))
    ref.same(index.range_search(db, 5), ref.range(db[keep], ids[keep], db, 5))
    index.add(db[:1])
    assert index.ids[-1] == 1040  # removed ids are not reused
    assert index.remove([]) == 0
    index.reset()
    assert len(index) == 0


def test_memory_is_packed_codes_plus_ids(ref, rng):
    for bits in (12, 48, 64, 65, 200):
        index = build(ref.random_codes(rng, 1000, bits))
        packed = 1000 * ((bits + 7) // 8)
        assert index.nbytes == packed + 8 * 1000 <= 1.2 * packed + 8 * 1000


@pytest.mark.parametrize("bits", [0, -1, 1025])
def test_bad_bit_count(bits):
    with pytest.raises(ValueError, match="bits"):
        HammingIndex(bits)


def test_bad_inputs(ref, rng):
    index = build(ref.random_codes(rng, 10, 16))
    q = ref.random_codes(rng, 2, 16)
    with pytest.raises(TypeError, match="bits"):
        HammingIndex(16.0)
    with pytest.raises(ValueError, match="15 bits, expected 16"):
        index.add(ref.random_codes(rng, 3, 15))
    with pytest.raises(ValueError, match="2-D"):
        index.search(q[0], 1)
    with pytest.raises(TypeError, match="dtype"):
        index.add(np.array([["a"] * 16]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        index.add(np.full((1, 16), 2))
    with pytest.raises(TypeError, match="uint8"):
        index.add(np.zeros((1, 2), np.int64), packed=True)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        index.search(np.zeros((1, 3), np.uint8), 1, packed=True)
    with pytest.raises(ValueError, match="padding"):
        HammingIndex(12).add(np.array([[0, 1]], np.uint8), packed=True)
    for k in (0, -3):
        with pytest.raises(ValueError, match="k must be >= 1"):
            index.search(q, k)
    for k in (2.0, True, "3"):
        with pytest.raises(TypeError, match="k must be an integer"):
            index.search(q, k)
    with pytest.raises(ValueError, match="radius must be >= 0"):
        index.range_search(q, -1)
    with pytest.raises(TypeError, match="radius"):
        index.range_search(q, 1.5)
    with pytest.raises(ValueError, match=r"ids must have shape \(2,\)"):
        index.add(q, ids=[1, 2, 3])
    with pytest.raises(ValueError, match="unique; duplicated: \\[7\\]"):
        index.add(q, ids=[7, 7])
    with pytest.raises(ValueError, match="already in the index: \\[3\\]"):
        index.add(q, ids=[3, 100])
    with pytest.raises(ValueError, match=">= 0"):
        index.add(q, ids=[-1, 100])
    with pytest.raises(TypeError, match="ids must be integers"):
        index.add(q, ids=[1.0, 2.0])
    with pytest.raises(TypeError, match="ids must be integers"):
        index.remove(["a"])
    assert len(index) == 10  # nothing was added by the failed calls


def test_multi_index_option_validated():
    with pytest.raises(ValueError, match="multi_index"):
        HammingIndex(16, multi_index=0)
    with pytest.raises(ValueError, match="multi_index"):
        HammingIndex(16, multi_index=17)
    assert HammingIndex(16, multi_index=4).multi_index == 4
