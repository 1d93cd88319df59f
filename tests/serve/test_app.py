"""Every route of the HTTP API and every refusal, through FastAPI's TestClient, with answers
checked against the library itself (ImageIndex.search with an Encoder of the same run)."""

from __future__ import annotations

import hashlib
import io
import re
import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from dshgan.collection import Encoder, ImageIndex
from dshgan.serve import ServeSettings, create_app
from dshgan.serve.engine import Engine

MAX_UPLOAD = 50_000
MAX_PIXELS = 1_000_000


def png(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@pytest.fixture(scope="module")
def client(served):
    app = create_app(ServeSettings(index=str(served), max_upload_bytes=MAX_UPLOAD,
                                   max_pixels=MAX_PIXELS))
    with TestClient(app) as c:
        _wait_ready(c)
        yield c


def _wait_ready(c: TestClient) -> None:
    import time

    deadline = time.monotonic() + 60
    while c.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, c.get("/readyz").json()
        time.sleep(0.05)


@pytest.fixture(scope="module")
def reference(served, run_dir):
    """The library's own answer: the index searched with an encoder of the run."""
    return ImageIndex.load(served, Encoder.from_run(run_dir, device="cpu"))


def post_image(c: TestClient, data: bytes, params: str = "", name: str = "q.png"):
    return c.post(f"/api/search{params}", files={"image": (name, data, "image/png")})


def test_health_stats_and_readiness(client, reference):
    assert client.get("/healthz").json() == {"status": "alive"}
    assert client.get("/readyz").json() == {"status": "ready"}
    stats = client.get("/api/stats").json()
    assert stats["items"] == len(reference) == 24 and stats["bits"] == reference.bits == 48
    assert stats["fingerprint"] == reference.fingerprint and stats["labels"] is True
    assert stats["uptime_s"] > 0
    before = stats["queries_served"]
    client.get("/api/items/0/similar?k=2")
    assert client.get("/api/stats").json()["queries_served"] == before + 1


def test_search_by_upload_matches_the_library(client, reference, served):
    root = served.parent / "images"
    for stored in ("cat/00.png", "dog/02.jpg", "owl/07.png"):
        data = (root / stored).read_bytes()
        got = post_image(client, data, "?k=5", name=stored.split("/")[1])
        assert got.status_code == 200, got.text
        body = got.json()
        want = reference.search([root / stored], k=5)[0]
        assert [(r["id"], r["distance"], r["same_file"]) for r in body["results"]] == \
            [(r.id, r.distance, r.same_file) for r in want]
        assert [r["rank"] for r in body["results"]] == [1, 2, 3, 4, 5]
        first = body["results"][0]  # the query itself, at distance 0
        assert first["path"] == stored and first["distance"] == 0 and first["same_file"]
        assert first["labels"] == [stored.split("/")[0]]
        assert first["thumbnail"] == f"/api/items/{first['id']}/thumbnail"
        code = reference.encoder.encode([root / stored])[0]
        assert body["query"]["code"] == np.packbits(code).tobytes().hex()
        assert body["query"]["sha1"] == hashlib.sha1(data).hexdigest()
        assert body["query"]["item"] == first["id"] and body["query"]["labels"] == first["labels"]
        others = [r for r in body["results"] if r["id"] != first["id"]]
        assert body["precision"] == pytest.approx(
            np.mean([first["labels"][0] in r["labels"] for r in others]))
        assert body["took_ms"] > 0 and set(body["timings_ms"]) == {"decode", "encode", "search"}


def test_search_of_an_image_not_in_the_index(client, reference, helpers):
    image = helpers.draw(4242)
    body = post_image(client, png(image), "?k=24&radius=48").json()
    want = reference.search([np.array(image)], k=24, radius=48)[0]
    assert [(r["id"], r["distance"]) for r in body["results"]] == \
        [(r.id, r.distance) for r in want]
    assert body["query"]["item"] is None and body["precision"] is None
    assert body["radius"] == 48 and len(body["results"]) == 24


def test_radius_limits_the_results(client, reference, served):
    data = (served.parent / "images" / "cat" / "01.png").read_bytes()
    for radius in (0, 3, 12):
        body = post_image(client, data, f"?k=1000&radius={radius}").json()
        want = reference.search([served.parent / "images" / "cat" / "01.png"], k=1000,
                                radius=radius)[0]
        assert [r["id"] for r in body["results"]] == [r.id for r in want]
        assert all(r["distance"] <= radius for r in body["results"])


def test_items_thumbnails_and_similar(client, reference):
    for id in (0, 13, 23):
        item = client.get(f"/api/items/{id}").json()
        want = reference.item(id)
        assert item["path"] == want["path"] and item["labels"] == want["labels"]
        assert item["sha1"] == want["digest"].hex() and item["bits"] == 48
        assert item["code"] == np.packbits(want["code"]).tobytes().hex()
        thumb = client.get(f"/api/items/{id}/thumbnail")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(thumb.content)) as t:
            source = Image.open(reference.full_path(want["path"]))
            assert t.format == "JPEG" and max(t.size) == 160
            assert t.size[0] / t.size[1] == pytest.approx(source.size[0] / source.size[1],
                                                           rel=0.05)
        similar = client.get(f"/api/items/{id}/similar?k=6").json()
        want_rows = reference.search_codes(want["code"][None], k=6, digests=[want["digest"]])[0]
        assert [r["id"] for r in similar["results"]] == [r.id for r in want_rows]
        assert similar["results"][0]["id"] == id and similar["results"][0]["distance"] == 0
        assert similar["query"]["item"] == id and similar["query"]["path"] == want["path"]


@pytest.mark.parametrize("params", ["?k=0", "?k=1001", "?k=ten", "?radius=-1", "?radius=49",
                                    "?k=2.5"])
def test_bad_k_or_radius_is_422(client, served, params):
    data = (served.parent / "images" / "cat" / "00.png").read_bytes()
    got = post_image(client, data, params)
    assert got.status_code == 422, got.text
    id_got = client.get(f"/api/items/0/similar{params}")
    assert id_got.status_code == 422, id_got.text


def test_upload_refusals(client, helpers):
    too_big = np.random.default_rng(0).integers(0, 256, MAX_UPLOAD + 1, np.uint8).tobytes()
    cases = [
        (post_image(client, too_big), 413, "limit"),
        (post_image(client, b"hello, not an image"), 415, "not an image"),
        (post_image(client, b""), 415, "empty"),
        (post_image(client, png(helpers.draw(1), "PCX")), 415, "PCX"),
        (post_image(client, png(Image.new("RGB", (1001, 1000)))), 413, "pixels"),
        (post_image(client, png(helpers.draw(1))[:60]), 415, "decoded"),
        (client.post("/api/search", content=png(helpers.draw(1)),
                     headers={"content-type": "image/png"}), 415, "multipart"),
        (client.post("/api/search", files={"note": (None, "n"), "other": (None, "x")}),
         422, "image"),
    ]
    for response, status, words in cases:
        assert response.status_code == status, response.text
        assert words in response.json()["detail"]


def test_unknown_ids_and_paths_are_never_files(client):
    for path in ("/api/items/24", "/api/items/-1", "/api/items/24/thumbnail",
                 "/api/items/99999/similar"):
        got = client.get(path)
        assert got.status_code == 404 and "no item" in got.json()["detail"]
    for path in ("/api/items/..%2F..%2Fetc%2Fpasswd/thumbnail", "/api/items/cat%2F00.png",
                 "/api/items/1.5", "/api/items/%2Fetc%2Fpasswd"):
        assert client.get(path).status_code in (404, 422)


def test_the_index_is_read_only(client, served):
    before = hashlib.sha256(served.read_bytes()).hexdigest()
    for method in ("put", "delete", "post", "patch"):
        assert getattr(client, method)("/api/items/0").status_code == 405
    client.get("/api/items/0/similar")
    assert hashlib.sha256(served.read_bytes()).hexdigest() == before
    writes = [route for route in client.app.routes
              if set(getattr(route, "methods", ())) & {"PUT", "DELETE", "PATCH"}]
    posts = [route.path for route in client.app.routes if "POST" in getattr(route, "methods", ())]
    assert writes == [] and posts == ["/api/search"]


def test_docs_and_page_load_nothing_from_elsewhere(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)", docs.text) + \
        re.findall(r"url: ?['\"]([^'\"]+)", docs.text)
    assert assets and not [a for a in assets if "//" in a], assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/openapi.json").json()["paths"]["/api/search"]["post"]
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text
    for name in ("index.html", "app.js", "style.css", "favicon.svg"):
        text = client.get(f"/static/{name}").text
        assert not re.search(r"(?<!xmlns=\")https?://", text), name  # a fetch, not a name
    for ref in re.findall(r"(?:src|href)=\"([^\"#]+)\"", page.text):
        assert client.get("/" + ref).status_code == 200, ref


def test_readyz_is_503_until_loaded_and_reports_a_failed_load(served):
    release = threading.Event()
    settings = ServeSettings(index=str(served))

    def slow_load():
        release.wait(30)
        return Engine.load(settings)

    with TestClient(create_app(settings, load=slow_load)) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 503
        assert c.get("/readyz").json()["status"] == "loading"
        assert c.get("/api/stats").status_code == 503
        assert c.get("/api/items/0").status_code == 503
        release.set()
        _wait_ready(c)
        assert c.get("/api/items/0").status_code == 200

    def failing_load():
        raise ValueError("index x.index was made with another model")

    with TestClient(create_app(settings, load=failing_load)) as c:
        import time

        time.sleep(0.1)
        got = c.get("/readyz")
        assert got.status_code == 503 and got.json()["status"] == "failed"
        assert "another model" in got.json()["detail"]
        assert "another model" in c.get("/api/stats").json()["detail"]
