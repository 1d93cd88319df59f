"""``--net-process``: the hashing net and the batch's search in a child process give the same
answers as in the server's process (codes bit-identical with the same torch threads), an error
in the child fails its batch's requests with a 500 that names it, a dead child makes /readyz
answer 503, and the child never outlives the server (closed, or killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from dshgan.serve import ServeSettings, create_app
from dshgan.serve.engine import Engine, UploadSearch
from dshgan.serve.limits import Refused


def gone(pid: int, timeout: float = 15.0) -> bool:
    """The process has exited (a zombie counts: it runs nothing) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as f:
                if any(line.startswith("State:") and "Z" in line.split()[1] for line in f):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def engines(served):
    """The same settings, one thread for the net in both: in this process and in a child."""
    threads = torch.get_num_threads()
    settings = ServeSettings(index=str(served), device="cpu", threads=1)
    inside = Engine.load(settings)
    child = Engine.load(ServeSettings(**{**settings.__dict__, "net_process": True}))
    yield inside, child
    child.close()
    inside.close()
    torch.set_num_threads(threads)


def test_answers_equal_those_of_the_net_in_the_server(engines, served):
    inside, child = engines
    files = sorted((served.parent / "images").rglob("*.*"))
    uploads = [inside.read_upload(p.read_bytes()) for p in files]  # (image, sha1)
    for k, radius in [(7, None), (3, 4)]:
        answers = []
        for engine in (inside, child):  # submitted together: batches of several
            futures = [engine.encoding.submit(image, job=UploadSearch(k, radius, digest))
                       for image, digest in uploads]
            answers.append([f.result(timeout=60) for f in futures])
        for (code_a, rows_a, _), (code_b, rows_b, _) in zip(*answers):
            assert np.array_equal(code_a, code_b)  # bit-identical
            assert rows_a == rows_b
    stats = child.stats()
    assert stats["net_process"] == child.net.pid and stats["queries_served"] == 2 * len(files)
    assert stats["batching"]["busy_cpu_s"] > 0  # the child's CPU time, sent back
    assert inside.stats()["net_process"] is None


def test_an_error_in_the_child_fails_its_batch_with_a_500(engines, served):
    _, child = engines
    image = child.read_upload(next((served.parent / "images").rglob("*.*")).read_bytes())[0]
    bad = [child.encoding.submit(image, job=UploadSearch(0, None, b"x")) for _ in range(3)]
    for future in bad:
        with pytest.raises(Refused) as err:
            future.result(timeout=60)
        assert err.value.status == 500 and "the hashing net's process failed" in err.value.message
        assert "k" in err.value.message
    code = child.encoding.submit(image).result(timeout=60)  # the child still answers
    assert code.shape == (child.source.bits,) and child.problem() is None


def test_a_dead_child_makes_readyz_503_and_is_gone_after_shutdown(served, helpers):
    settings = ServeSettings(index=str(served), device="cpu", threads=1, net_process=True)
    with TestClient(create_app(settings)) as c:
        helpers.wait_ready(lambda path: c.get(path).status_code)
        pid = c.get("/api/stats").json()["net_process"]
        image = (served.parent / "images").rglob("*.*").__next__().read_bytes()
        assert c.post("/api/search", files={"image": ("q.png", image)}).status_code == 200
        os.kill(pid, signal.SIGKILL)
        assert gone(pid)
        deadline = time.monotonic() + 10  # the server's watcher notices the death on its own
        while (ready := c.get("/readyz")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.status_code == 503 and "stopped" in ready.json()["detail"]
        got = c.post("/api/search", files={"image": ("q.png", image)})
        assert got.status_code == 500 and "process stopped" in got.json()["detail"]

    with TestClient(create_app(settings)) as c:  # a plain shutdown stops the child
        helpers.wait_ready(lambda path: c.get(path).status_code)
        pid = c.get("/api/stats").json()["net_process"]
    assert gone(pid, timeout=0.5)


def test_the_child_ends_when_the_server_is_killed(served, helpers):
    port = helpers.free_port()
    server = subprocess.Popen([sys.executable, "-m", "dshgan", "serve", str(served), "--port",
                               str(port), "--device", "cpu", "--net-process"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def status(path: str) -> int:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    return r.status
            except OSError:
                return 0

        helpers.wait_ready(status, timeout=120)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=5) as r:
            pid = json.load(r)["net_process"]
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        assert gone(pid), "the net's process outlived the server"
    finally:
        server.kill()
        server.wait()


def test_net_process_needs_micro_batching(served, capsys):
    from dshgan.cli import main

    assert main(["serve", str(served), "--batch", "1", "--net-process"]) == 2
    assert "--net-process needs micro-batching" in capsys.readouterr().err
