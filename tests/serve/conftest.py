"""The tiny trained run and image folders of tests/collection (its conftest, loaded as a module:
under importlib mode a conftest cannot be imported by name), an index built from them, and a
server in a thread for the browser and load tests."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "collection_conftest", Path(__file__).parent.parent / "collection" / "conftest.py")
_collection = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_collection)
run_dir = _collection.run_dir  # session fixtures: trained once per session
other_run = _collection.other_run
draw = _collection.draw
write_tree = _collection.write_tree


@pytest.fixture(scope="session")
def served(run_dir, tmp_path_factory):
    """An index of 24 labelled images (cat/dog/owl, 8 each) built with the tiny run."""
    from dshgan.collection import build_index

    root = tmp_path_factory.mktemp("served")
    images = write_tree(root / "images")
    out = root / "images.index"
    build_index(run_dir, images, out, progress=False, workers=0)
    return out


@pytest.fixture
def helpers():
    from types import SimpleNamespace

    return SimpleNamespace(draw=draw, write_tree=write_tree, free_port=free_port,
                           wait_ready=wait_ready)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(get, timeout: float = 60.0) -> None:
    """Poll /readyz through ``get(path) -> status code`` until 200."""
    deadline = time.monotonic() + timeout
    while get("/readyz") != 200:
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not become ready")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def live_server(served):
    """``dshgan serve`` on a free loopback port, in a thread: (base URL, index path)."""
    import urllib.error
    import urllib.request

    import uvicorn

    from dshgan.serve import ServeSettings, create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ServeSettings(index=str(served))),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"

    def status(path: str) -> int:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return 0

    wait_ready(status)
    yield base, served
    server.should_exit = True
    thread.join(timeout=10)
