"""``dshgan serve --backend milvus`` (serve/sources.py's ``MilvusSource``, on Milvus Lite through a
local ``.db`` file): the same answers as the index file back end for uploads, "more like this",
items and thumbnails (whole result lists when k takes every item, distances otherwise, since
Milvus may pick other items tied at the k-th distance); a radius filters the k nearest; copies
of the query's file are never cut off by ties; a collection of another model, a missing
collection, an unreachable Milvus and a wrong run stop the command with one line."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from dshgan.cli import main
from dshgan.collection import ImageIndex
from dshgan.collection.milvus_store import MilvusStore
from dshgan.serve import ServeSettings, create_app
from dshgan.serve.sources import MilvusSource, open_source

N = 24  # items in the `served` index


@pytest.fixture(scope="module")
def milvus(served, tmp_path_factory):
    """A Milvus Lite file with the served index ("served") and the same items under another
    model's fingerprint ("foreign")."""
    uri = str(tmp_path_factory.mktemp("milvus") / "m.db")
    index = ImageIndex.load(served)
    MilvusStore.write(index, uri, "served")
    index.fingerprint = dict(index.fingerprint, model_sha256="0" * 64)
    MilvusStore.write(index, uri, "foreign")
    return uri


def ready_client(settings: ServeSettings):
    import time

    client = TestClient(create_app(settings))
    client.__enter__()
    deadline = time.monotonic() + 60
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").json()
        time.sleep(0.05)
    return client


@pytest.fixture(scope="module")
def clients(served, milvus):
    """(index file app, Milvus app) over the same items."""
    by_file = ready_client(ServeSettings(index=str(served), device="cpu"))
    by_milvus = ready_client(ServeSettings(backend="milvus", uri=milvus, collection="served",
                                           device="cpu"))
    yield by_file, by_milvus
    for c in (by_file, by_milvus):
        c.__exit__(None, None, None)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(client, data: bytes, params: str) -> dict:
    got = client.post(f"/api/search{params}", files={"image": ("q.png", data, "image/png")})
    assert got.status_code == 200, got.text
    return got.json()


def rows(body: dict) -> list[tuple]:
    return [(r["rank"], r["id"], r["distance"], r["same_file"], r["path"], tuple(r["labels"]),
             r["thumbnail"]) for r in body["results"]]


def test_stats_name_the_back_end(clients):
    by_file, by_milvus = (c.get("/api/stats").json() for c in clients)
    assert by_file["backend"] == "index" and by_milvus["backend"] == "milvus"
    for key in ("items", "bits", "fingerprint", "labels"):
        assert by_milvus[key] == by_file[key]
    assert by_milvus["items"] == N and by_milvus["labels"] is True


def test_uploads_answer_as_the_index_file(clients, served, helpers):
    by_file, by_milvus = clients
    root = served.parent / "images"
    queries = [(root / p).read_bytes() for p in ("cat/00.png", "dog/02.jpg", "owl/07.png")]
    queries.append(png(helpers.draw(4242)))  # not in the index
    for data in queries:
        # every item: the whole list is fixed by the tie rule, so it must be the same
        for params in (f"?k={N}", f"?k={N}&radius=0", f"?k={N}&radius=6", f"?k={N}&radius=48"):
            want, got = upload(by_file, data, params), upload(by_milvus, data, params)
            assert rows(got) == rows(want), params
            assert got["query"] == want["query"] and got["precision"] == want["precision"]
        # fewer than every item: the same distances; the query's own file first
        for params in ("?k=1", "?k=5", "?k=5&radius=8"):
            want, got = upload(by_file, data, params), upload(by_milvus, data, params)
            assert [r["distance"] for r in got["results"]] == \
                [r["distance"] for r in want["results"]], params
            assert got["query"]["item"] == want["query"]["item"]
            if want["query"]["item"] is not None:
                assert got["results"][0]["id"] == want["query"]["item"]
                assert got["results"][0]["same_file"]


def test_similar_items_and_thumbnails(clients):
    by_file, by_milvus = clients
    for id in range(N):
        first = by_milvus.get(f"/api/items/{id}/similar?k=1").json()["results"]
        assert [(r["id"], r["distance"], r["same_file"]) for r in first] == [(id, 0, True)]
        want = by_file.get(f"/api/items/{id}/similar?k={N}").json()
        got = by_milvus.get(f"/api/items/{id}/similar?k={N}").json()
        assert rows(got) == rows(want) and got["query"] == want["query"]
        assert by_milvus.get(f"/api/items/{id}").json() == by_file.get(f"/api/items/{id}").json()
    for id in (0, 13, 23):
        want, got = (c.get(f"/api/items/{id}/thumbnail") for c in clients)
        assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
        assert got.content == want.content
    for path in (f"/api/items/{N}", f"/api/items/{N}/thumbnail", "/api/items/-1/similar"):
        assert by_milvus.get(path).status_code == 404


def random_index(bits: int, n: int, seed: int) -> ImageIndex:
    rng = np.random.default_rng(seed)
    fingerprint = {"run": "r", "bits": bits, "image_size": [8, 8], "model_sha256": "ab" * 32}
    index = ImageIndex(fingerprint, "/photos", label_source="folder")
    codes = rng.integers(0, 2, (n, bits), dtype=np.uint8)
    codes[n // 2:] = codes[0]  # half the items share one code: ties far past any small k
    digests = [rng.bytes(20) for _ in range(n)]
    digests[n - 3] = digests[n - 1] = b"copy of one file...."
    index.add_codes(codes, [f"c{i % 3}/{i}.png" for i in range(n)], digests)
    return index


def test_search_against_a_naive_scan_and_copies_never_cut_off(tmp_path):
    n, bits = 120, 12
    index = random_index(bits, n, 3)
    store = MilvusStore.write(index, str(tmp_path / "r.db"), "random")
    source = MilvusSource(store, "r.db")
    codes = index.codes_index.codes()
    queries = np.random.default_rng(4).integers(0, 2, (10, bits), dtype=np.uint8)
    for query in [*queries, codes[0]]:
        dist = (codes != query).sum(1)
        for k in (1, 7, n):
            for radius in (None, 0, 3, bits):
                got = source.search(query, k, radius, None)
                want = np.sort(dist)[:k]
                if radius is not None:
                    want = want[want <= radius]
                assert [r.distance for r in got] == want.tolist()
                assert [r.rank for r in got] == list(range(1, len(got) + 1))
                assert all(dist[r.id] == r.distance for r in got)
                assert [r.path for r in got] == [index.paths[r.id] for r in got]
        got = source.search(query, n, None, None)
        assert [r.id for r in got] == np.lexsort((np.arange(n), dist)).tolist()  # ids in ties
    # 60 items at distance 0 and k=2: both copies of the query's file come first
    got = source.search(codes[0], 2, None, b"copy of one file....")
    assert [(r.id, r.distance, r.same_file) for r in got] == [(n - 3, 0, True), (n - 1, 0, True)]
    got = source.search(codes[0], 1, 0, index.digests[n - 2])
    assert [(r.id, r.same_file) for r in got] == [(n - 2, True)]
    item = source.item(n - 1)
    assert item["digest"] == b"copy of one file...." and (item["code"] == codes[0]).all()
    assert item["path"] == f"c{(n - 1) % 3}/{n - 1}.png" and item["labels"] == ["c2"]
    assert source.full_path("c0/0.png") == "/photos/c0/0.png"
    with pytest.raises(KeyError):
        source.item(n)
    # a change to the collection is served at once
    assert store.remove(["c0/0.png"]) == 1 and len(source) == n - 1
    with pytest.raises(KeyError):
        source.item(0)
    assert 0 not in [r.id for r in source.search(codes[0], n, None, index.digests[0])]


def test_a_foreign_collection_is_refused_at_startup(milvus, run_dir):
    with pytest.raises(ValueError, match="another model"):
        open_source(ServeSettings(backend="milvus", uri=milvus, collection="foreign"))
    source, run = open_source(ServeSettings(backend="milvus", uri=milvus, collection="served"))
    assert run == str(run_dir.resolve()) and len(source) == N and source.has_labels


@pytest.mark.parametrize("case,words", [
    ("foreign", "another model"), ("missing", "no collection 'nope'"),
    ("unreachable", "cannot use Milvus"), ("other-run", "another model"),
    ("no-run", "--run"), ("index-too", "not the index file"), ("no-uri", "--uri"),
    ("lite-workers", "--workers 1"), ("no-index", "give the index file")])
def test_cli_startup_errors_are_one_line(case, words, milvus, served, other_run, tmp_path,
                                         capsys):
    base = ["serve", "--backend", "milvus", "--uri", milvus, "--collection", "served"]
    argv = {"foreign": ["serve", "--backend", "milvus", "--uri", milvus, "--collection",
                        "foreign"],
            "missing": ["serve", "--backend", "milvus", "--uri", milvus, "--collection", "nope"],
            "unreachable": ["serve", "--backend", "milvus", "--uri",
                            str(tmp_path / "no-such-folder" / "m.db"), "--collection", "served"],
            "other-run": [*base, "--run", str(other_run)],
            "no-run": [*base, "--run", str(tmp_path)],
            "index-too": [*base[:1], str(served), *base[1:]],
            "no-uri": ["serve", "--backend", "milvus", "--collection", "served"],
            "lite-workers": [*base, "--workers", "2"],
            "no-index": ["serve"]}[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dshgan: error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and words in err, err
