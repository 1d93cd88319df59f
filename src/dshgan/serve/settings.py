"""How one server is set up: the codes (an index file or a Milvus collection), the run, the
limits and the batching.

Why a dataclass with a JSON form: ``dshgan serve --workers N`` starts N processes that each
build their own app; uvicorn creates them from an import string, so the settings travel to them
in an environment variable.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from dshgan.serve.batcher import DEFAULT_MAX_BATCH, DEFAULT_MAX_WAIT_S
from dshgan.serve.limits import MAX_PIXELS, MAX_UPLOAD_BYTES

ENV_VAR = "DSHGAN_SERVE_SETTINGS"


def default_threads(workers: int = 1) -> int:
    """Half the cores, shared among ``workers`` processes (at least one thread each): the other
    half decode uploads and answer HTTP. With a torch thread per core, torch's threads wait on
    each other at every layer whenever a core is busy elsewhere, and the one batching thread
    stalls every query (docs/serve.md, "Throughput")."""
    return max(1, (os.cpu_count() or 2) // (2 * workers))


@dataclass(frozen=True)
class ServeSettings:
    index: str = ""  # the index file (read, never written); "" with backend "milvus"
    run: str | None = None  # the run folder; None: the one the index recorded
    device: str = "auto"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_pixels: int | None = MAX_PIXELS
    batching: bool = True  # False: each request encodes its own image (the plain way)
    max_batch: int = DEFAULT_MAX_BATCH
    max_wait_s: float = DEFAULT_MAX_WAIT_S
    threads: int | None = None  # torch threads, for the whole process (None: left as they are)
    # the net (and an index file's batch search) in a child process: no GIL shared with HTTP
    net_process: bool = False
    backend: str = "index"  # where the codes live: "index" (the file) or "milvus"
    uri: str | None = None  # Milvus: a local .db file (Milvus Lite) or http://host:19530
    collection: str | None = None  # Milvus: the collection's name
    token: str | None = None  # Milvus: user:password or API key, if the server asks for one

    def to_env(self) -> dict[str, str]:
        return {ENV_VAR: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls) -> ServeSettings:
        text = os.environ.get(ENV_VAR)
        if not text:
            raise RuntimeError(f"{ENV_VAR} is not set: start the server with `dshgan serve`")
        return cls(**json.loads(text))
