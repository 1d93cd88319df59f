"""How one server is set up: the index, the run, the limits and the batching.

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


@dataclass(frozen=True)
class ServeSettings:
    index: str  # the index file (read, never written)
    run: str | None = None  # the run folder; None: the one the index recorded
    device: str = "auto"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_pixels: int | None = MAX_PIXELS
    batching: bool = True  # False: each request encodes its own image (the plain way)
    max_batch: int = DEFAULT_MAX_BATCH
    max_wait_s: float = DEFAULT_MAX_WAIT_S

    def to_env(self) -> dict[str, str]:
        return {ENV_VAR: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls) -> ServeSettings:
        text = os.environ.get(ENV_VAR)
        if not text:
            raise RuntimeError(f"{ENV_VAR} is not set: start the server with `dshgan serve`")
        return cls(**json.loads(text))
