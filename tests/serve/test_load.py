"""A short load test over real HTTP on loopback: 4 clients for 2 seconds, each uploading its own
image; zero errors, and every answer is the sender's own image first (concurrent uploads never
mix)."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from urllib.parse import urlparse

CLIENTS = 4
SECONDS = 2.0


def multipart(data: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_four_clients_for_two_seconds_without_an_error(live_server):
    base, index_path = live_server
    url = urlparse(base)
    root = index_path.parent / "images"
    stored = ["cat/00.png", "dog/01.png", "owl/02.jpg", "cat/05.jpg"]
    done, errors = [0] * CLIENTS, []
    stop = time.monotonic() + SECONDS

    def client(i: int) -> None:
        body, content_type = multipart((root / stored[i]).read_bytes(), f"{i}.png")
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            while time.monotonic() < stop:
                conn.request("POST", "/api/search?k=3", body, {"Content-Type": content_type})
                response = conn.getresponse()
                answer = response.read()
                if response.status != 200:
                    errors.append((response.status, answer[:200]))
                    continue
                first = json.loads(answer)["results"][0]
                if first["path"] != stored[i] or first["distance"] != 0:
                    errors.append(("wrong answer", stored[i], first))
                done[i] += 1
        except Exception as exc:  # noqa: BLE001 (counted and shown, not raised in a thread)
            errors.append(repr(exc))
        finally:
            conn.close()

    before = json.loads(_get(url, "/api/stats"))["queries_served"]
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert all(n > 0 for n in done), done
    stats = json.loads(_get(url, "/api/stats"))
    assert stats["queries_served"] - before == sum(done)
    assert stats["batching"]["images_encoded"] >= sum(done)


def _get(url, path: str) -> bytes:
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()
