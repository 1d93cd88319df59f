"""ImageIndex: search against a brute-force reference (tie rule included), save/load with
metadata, refusals (other code length, other model, foreign, truncated, plain code files),
remove."""

import hashlib

import numpy as np
import pytest

from dshgan.collection import Encoder, ImageIndex, list_images
from dshgan.index import HammingIndex, IndexFileError

FP = {"run": "r", "bits": 16, "image_size": [32, 32], "model_sha256": "ab" * 32}


def random_index(rng, n=300, bits=16, dup_digests=True):
    codes = rng.integers(0, 2, (n, bits), dtype=np.uint8)
    codes[rng.integers(0, n, n // 3)] = codes[0]  # many exact ties
    digests = [hashlib.sha1(str(i).encode()).digest() for i in range(n)]
    if dup_digests:  # the same file bytes indexed under several paths
        for i in rng.integers(0, n, 20):
            digests[i] = digests[7]
    index = ImageIndex(dict(FP, bits=bits), "/photos", label_source="folder")
    paths = [f"c{i % 3}/{i:04d}.jpg" for i in range(n)]
    index.add_codes(codes, paths, digests)
    return index, codes, digests, paths


def reference(codes, digests, query, digest, k=None, radius=None):
    """Brute force: (distance, same file first, id) order; ids are row numbers here."""
    d = (codes != query).sum(1)
    same = np.array([x == digest for x in digests]) if digest is not None else np.zeros(len(d))
    rows = np.arange(len(d)) if radius is None else np.flatnonzero(d <= radius)
    order = rows[np.lexsort((rows, ~same[rows].astype(bool), d[rows]))]
    return [(int(r), int(d[r])) for r in (order if k is None else order[:k])]


@pytest.mark.parametrize("k,radius", [(1, None), (10, None), (500, None), (None, 3), (5, 2)])
def test_search_matches_brute_force_with_tie_rule(rng_seed, k, radius):
    rng = np.random.default_rng(rng_seed)
    index, codes, digests, paths = random_index(rng)
    queries = np.concatenate([codes[[0, 7, 7, 5]], rng.integers(0, 2, (4, 16), np.uint8)])
    qdigests = [digests[0], digests[7], None, digests[5], None, digests[7], b"\0" * 20, None]
    got = index.search_codes(queries, k=k, radius=radius, digests=qdigests)
    for q, rows in enumerate(got):
        want = reference(codes, digests, queries[q], qdigests[q], k, radius)
        assert [(r.id, r.distance) for r in rows] == want
        assert [r.rank for r in rows] == list(range(1, len(rows) + 1))
        for r in rows:
            assert r.path == paths[r.id] and r.labels == [f"c{r.id % 3}"]
            assert r.same_file == (qdigests[q] is not None and digests[r.id] == qdigests[q])
    # a query that is an indexed file comes first, although a third of the items tie with it
    assert got[0][0].id == 0 and got[0][0].distance == 0 and got[0][0].same_file


@pytest.fixture(params=[0, 1])
def rng_seed(request):
    return request.param


def test_save_load_round_trip_with_metadata(tmp_path, rng):
    index, codes, digests, paths = random_index(rng)
    index.remove([paths[3], paths[10]])
    path = tmp_path / "photos.index"
    index.save(path)
    loaded = ImageIndex.load(path)
    assert loaded.fingerprint == index.fingerprint and loaded.root == "/photos"
    assert loaded.label_source == "folder" and loaded.file == str(path)
    assert loaded.paths == index.paths and loaded.labels == index.labels
    np.testing.assert_array_equal(loaded.ids, index.ids)
    np.testing.assert_array_equal(loaded.digests, index.digests)
    np.testing.assert_array_equal(loaded.codes_index.codes(), np.delete(codes, [3, 10], 0))
    q = codes[[1, 2]]
    assert loaded.search_codes(q, 20, digests=digests[1:3]) == \
        index.search_codes(q, 20, digests=digests[1:3])
    info = loaded.info()
    assert info["images"] == 298 and info["labels"] == {"c0": 99, "c1": 99, "c2": 100}
    loaded.add_codes(codes[:1], ["new/1.jpg"], [b"\1" * 20])
    assert loaded.ids[-1] == 300  # ids keep counting after removals, across save/load


def test_unlabelled_and_outside_root(tmp_path):
    index = ImageIndex(FP, tmp_path / "root")
    inside = index.stored_path(tmp_path / "root" / "a" / "b.png")
    outside = index.stored_path(tmp_path / "other" / "c.png")
    assert inside == "a/b.png" and outside == str(tmp_path / "other" / "c.png")
    assert index.full_path(inside) == str(tmp_path / "root" / "a" / "b.png")
    index.add_codes(np.zeros((2, 16), np.uint8), [inside, outside], [b"1" * 20, b"2" * 20])
    index.save(tmp_path / "i")
    again = ImageIndex.load(tmp_path / "i")
    assert again.labels == [[], []] and again.paths == [inside, outside]


def test_remove(rng):
    index, codes, digests, paths = random_index(rng, n=50)
    with pytest.raises(ValueError, match="not in this index"):
        index.remove([paths[1], "nope.jpg"])
    assert len(index) == 50  # all or nothing
    assert index.remove([paths[0], "/photos/" + paths[1]]) == 2  # stored or full path
    assert index.remove(paths[5]) == 1  # one path alone, not its characters
    with pytest.raises(TypeError, match="wrap a single path"):
        index.search(paths[6])
    assert paths[0] not in index and paths[2] in index
    hits = index.search_codes(codes[:2], k=50, digests=digests[:2])
    assert {r.id for rows in hits for r in rows} == set(range(2, 50)) - {5}
    for rows in hits:
        assert all(r.path == paths[r.id] for r in rows)


def test_add_codes_checks(rng):
    index, codes, digests, paths = random_index(rng, n=10)
    with pytest.raises(ValueError, match="already in"):
        index.add_codes(codes[:1], [paths[4]], digests[:1])
    with pytest.raises(ValueError, match="already in"):
        index.add_codes(codes[:2], ["x.jpg", "x.jpg"], digests[:2])
    with pytest.raises(ValueError, match="1 codes but 2 paths"):
        index.add_codes(codes[:1], ["y.jpg", "z.jpg"], digests[:1])
    with pytest.raises(ValueError, match="16"):
        index.add_codes(np.zeros((1, 12), np.uint8), ["y.jpg"], digests[:1])
    assert len(index) == 10


def test_search_argument_checks(rng):
    index, codes, _, _ = random_index(rng, n=10)
    with pytest.raises(ValueError, match="12-bit codes but this index holds 16-bit"):
        index.search_codes(np.zeros((1, 12), np.uint8))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            index.search_codes(codes[:1], k=bad)
    with pytest.raises(ValueError, match="radius must be"):
        index.search_codes(codes[:1], radius=-1)
    with pytest.raises(ValueError, match="give k, radius"):
        index.search_codes(codes[:1], k=None)
    assert index.search_codes(codes[:0]) == []
    empty = ImageIndex(FP, "/x")
    assert empty.search_codes(codes[:2], k=3) == [[], []]
    assert empty.search_codes(codes[:1], k=3, radius=4, digests=[b"1" * 20]) == [[]]


def test_other_code_length_and_other_model_refused(run_dir, other_run, tmp_path, helpers):
    helpers.write_tree(tmp_path / "imgs", per_class=2)
    enc48 = Encoder.from_run(run_dir, device="cpu")
    index = ImageIndex(enc48.fingerprint, tmp_path / "imgs", run_dir=enc48.run_dir)
    files = [tmp_path / "imgs" / f for f in list_images(tmp_path / "imgs")]
    index.add(files, encoder=enc48)
    enc12 = Encoder.from_run(run_dir, bits=12, device="cpu")
    with pytest.raises(ValueError, match="holds 48-bit codes but the query/encoder gives 12"):
        index.search(files[:1], encoder=enc12)
    with pytest.raises(ValueError, match="another model"):
        index.use(Encoder.from_run(other_run, device="cpu"))
    with pytest.raises(ValueError, match="another model"):
        index.add([files[0]], encoder=Encoder.from_run(other_run, device="cpu"))
    assert len(index) == 6
    # without an encoder, the run the index records is loaded
    index.encoder = None
    assert index.search(files[:1], k=1)[0][0].path == "cat/00.png"


def test_refused_files_are_named(tmp_path, rng):
    index, *_ = random_index(rng, n=20)
    good = tmp_path / "good.index"
    index.save(good)
    data = good.read_bytes()
    (tmp_path / "cut.index").write_bytes(data[: len(data) - 7])
    with pytest.raises(IndexFileError, match="cut.index is truncated"):
        ImageIndex.load(tmp_path / "cut.index")
    (tmp_path / "foreign.index").write_bytes(b"PK\x03\x04 a zip, say" * 10)
    with pytest.raises(IndexFileError, match="foreign.index is not a dshgan index"):
        ImageIndex.load(tmp_path / "foreign.index")
    plain = HammingIndex(16)  # a version-1 file: codes only
    plain.add(rng.integers(0, 2, (5, 16), dtype=np.uint8))
    plain.save(tmp_path / "plain.index")
    assert len(HammingIndex.load(tmp_path / "plain.index")) == 5  # still reads as codes
    with pytest.raises(IndexFileError, match="plain.index holds binary codes only"):
        ImageIndex.load(tmp_path / "plain.index")
    other = HammingIndex(16)
    other.save(tmp_path / "other.index", metadata={"kind": "something-else"})
    with pytest.raises(IndexFileError, match="other.index is not a dshgan image index"):
        ImageIndex.load(tmp_path / "other.index")
    meta = index.metadata()
    meta["paths"] = meta["paths"].rsplit("\0", 1)[0]  # one path fewer than codes
    index.codes_index.save(tmp_path / "short.index", metadata=meta)
    with pytest.raises(IndexFileError, match="short.index is corrupt: inconsistent"):
        ImageIndex.load(tmp_path / "short.index")
    with pytest.raises(FileNotFoundError, match="missing.index not found"):
        ImageIndex.load(tmp_path / "missing.index")


@pytest.fixture
def rng():
    return np.random.default_rng(5)


def test_bad_label_metadata_refused(tmp_path, rng):
    index, *_ = random_index(rng, n=20)
    meta = index.metadata()
    meta["labels"]["offsets"] = meta["labels"]["offsets"][:-12] + "AAAAAAAAAAA="
    index.codes_index.save(tmp_path / "labels.index", metadata=meta)
    with pytest.raises(IndexFileError, match="labels.index is corrupt"):
        ImageIndex.load(tmp_path / "labels.index")


def test_item_by_id_matches_the_columns_and_refuses_unknown_ids():
    rng = np.random.default_rng(3)
    index, codes, digests, paths = random_index(rng, n=50)
    digests[9] = b"\x01" * 19 + b"\0"  # a trailing zero byte must survive
    index = ImageIndex(dict(FP), "/photos", label_source="folder")
    index.add_codes(codes, paths, digests)
    index.remove([paths[4]])
    for i in (0, 9, 49):
        item = index.item(i)
        assert item["id"] == i and item["path"] == paths[i] and item["labels"] == [f"c{i % 3}"]
        assert item["digest"] == digests[i] and (item["code"] == codes[i]).all()
    for missing in (4, 50, -1):
        with pytest.raises(KeyError):
            index.item(missing)
