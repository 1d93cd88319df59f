"""The Milvus back end on Milvus Lite: distances equal the exact index's on a few thousand random
codes at 12, 48 and 64 bits (codes padded to whole bytes); ids equal too below the k-th distance
(at it, Milvus may pick other tied items); k above Milvus's limit is refused before any query;
build, search, info, remove and merge through the command line."""

import json

import numpy as np
import pytest

from dshgan.cli import main
from dshgan.collection import ImageIndex
from dshgan.collection.code_store import ExactStore, search_results
from dshgan.collection.milvus_store import MAX_TOPK, MilvusStore

N = 3000


@pytest.fixture(scope="module")
def uri(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("milvus") / "codes.db")


def random_index(bits: int, seed: int) -> ImageIndex:
    rng = np.random.default_rng(seed)
    fingerprint = {"run": "r", "bits": bits, "image_size": [32, 32], "model_sha256": "ab" * 32}
    index = ImageIndex(fingerprint, "/photos", label_source="folder")
    # few distinct codes at 12 bits, so distances tie a lot; a few exact copies at every length
    codes = rng.integers(0, 2, (N, bits), dtype=np.uint8)
    codes[N // 2:N // 2 + 50] = codes[:50]
    index.add_codes(codes, [f"c{i % 7}/{i}.png" for i in range(N)],
                    [rng.bytes(20) for _ in range(N)])
    return index


@pytest.mark.parametrize("bits", [12, 48, 64])
def test_distances_equal_the_exact_index(uri, bits):
    index = random_index(bits, bits)
    store = MilvusStore.write(index, uri, f"random{bits}")
    exact = ExactStore(index)
    assert len(store) == N and store.bits == bits and store.fingerprint == index.fingerprint
    queries = np.random.default_rng(1).integers(0, 2, (40, bits), dtype=np.uint8)
    queries[:5] = index.codes_index.codes()[:5]  # queries with exact copies in the index
    for k in (1, 10, 500):
        ids, dist = store.search_codes(queries, k)
        want_ids, want_dist = exact.search_codes(queries, k)
        np.testing.assert_array_equal(dist, want_dist)
        assert dist.dtype == np.int32 and ids.dtype == np.int64
        codes = index.codes_index.codes()
        true = (codes[ids] != queries[:, None, :]).sum(2)  # each returned id's own distance
        np.testing.assert_array_equal(true, dist)
        for q in range(len(queries)):
            below = want_dist[q] < want_dist[q, -1]
            assert set(ids[q][below]) == set(want_ids[q][below])
            assert len(set(ids[q])) == k
    meta = store.metadata([7, 3])
    assert [m["path"] for m in meta] == ["c0/7.png", "c3/3.png"]
    assert meta[1]["sha1"] == index.digests[3].hex() and meta[1]["labels"] == ["c3"]
    # fewer codes than k: padded like HammingIndex
    small_ids, small_dist = store.search_codes(queries[:2], N + 5)
    assert (small_ids[:, N:] == -1).all() and (small_ids[:, :N] >= 0).all()
    np.testing.assert_array_equal(small_dist[:, :N], exact.search_codes(queries[:2], N)[1])
    store.close()


def test_top_k_above_the_limit_is_refused_before_querying(uri):
    store = MilvusStore.write(random_index(12, 0), uri, "limit")
    store.client = None  # any call to Milvus would fail differently
    with pytest.raises(ValueError, match="16384"):
        store.search_codes(np.zeros((1, 12), np.uint8), MAX_TOPK + 1)


def test_tie_rule_and_remove(uri):
    index = random_index(48, 5)
    store = MilvusStore.write(index, uri, "ties")
    query = index.codes_index.codes()[[N // 2 + 3]]  # a copy of item 3 (distance 0 to both)
    rows = search_results(store, query, 3, [index.digests[N // 2 + 3]])[0]
    assert [(r.id, r.distance, r.same_file) for r in rows[:2]] == [(N // 2 + 3, 0, True),
                                                                  (3, 0, False)]
    assert store.remove(["c3/3.png", "/photos/c4/4.png"]) == 2
    assert len(store) == N - 2
    with pytest.raises(ValueError, match="not in Milvus collection"):
        store.remove(["c5/5.png", "nope.png"])
    assert len(store) == N - 2  # all or nothing
    ids, _ = store.search_codes(index.codes_index.codes()[[3, 4]], 1)
    assert 3 not in ids and 4 not in ids
    reopened = MilvusStore.open(uri, "ties")
    assert len(reopened) == N - 2 and reopened.root == "/photos"
    with pytest.raises(FileNotFoundError, match="no collection"):
        MilvusStore.open(uri, "absent")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_command_line_build_search_remove(run_dir, images, tmp_path, uri, capsys):
    milvus = ["--backend", "milvus", "--uri", uri, "--collection", "photos"]
    code, out, err = run(capsys, "index", "build", run_dir, "--images", images, "--bits", 48,
                         "--out", tmp_path / "copy.index", "--workers", 0, "--no-progress",
                         *milvus)
    assert code == 0, err
    assert "indexed 24 images" in out and "Milvus collection 'photos'" in out
    query = images / "dog" / "03.png"
    # k = every image: a tiny net gives many images one code, and Milvus may return any of the
    # items tied at the k-th distance; with all of them returned the tie rule must hold.
    code, out, err = run(capsys, "search", *milvus, query, images / "cat" / "00.png",
                         "-k", 24, "--json")
    assert code == 0, err
    doc = json.loads(out)
    exact = ImageIndex.load(tmp_path / "copy.index").search([query, images / "cat" / "00.png"],
                                                            k=24)
    for got, want in zip(doc["queries"], exact):
        assert [r["distance"] for r in got["results"]] == [r.distance for r in want]
    first = doc["queries"][0]["results"][0]
    assert (first["path"], first["distance"], first["same_file"]) == ("dog/03.png", 0, True)
    code, out, err = run(capsys, "search", *milvus, query, "-k", MAX_TOPK + 1)
    assert code == 2 and "16384" in err
    code, out, _ = run(capsys, "index", "info", *milvus, "--json")
    assert code == 0 and json.loads(out)["images"] == 24
    code, out, err = run(capsys, "index", "remove", *milvus, "--paths", "dog/03.png")
    assert code == 0 and "now holds 23 images" in out, err
    code, out, _ = run(capsys, "search", *milvus, query, "-k", 1, "--json")
    assert json.loads(out)["queries"][0]["results"][0]["path"] != "dog/03.png"
    code, _, err = run(capsys, "index", "build", run_dir, "--images", images, "--no-progress",
                       "--backend", "milvus", "--uri", uri)
    assert code == 2 and "--collection" in err
    code, _, err = run(capsys, "index", "build", run_dir, "--images", images, "--shard", "0/2",
                       *milvus)
    assert code == 2 and "index merge" in err
    # an index file (or parts built apart) into Milvus through merge
    code, out, err = run(capsys, "index", "merge", tmp_path / "copy.index", "--backend",
                         "milvus", "--uri", uri, "--collection", "merged")
    assert code == 0 and "merged 1 parts, 24 images" in out, err
    assert len(MilvusStore.open(uri, "merged")) == 24


def test_a_milvus_failure_is_one_clear_line_naming_the_uri(tmp_path):
    uri = str(tmp_path / "no-such-folder" / "m.db")
    with pytest.raises(RuntimeError, match=f"cannot use Milvus at {uri}"):
        MilvusStore.open(uri, "nothing")
