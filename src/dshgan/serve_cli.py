"""``dshgan serve INDEX`` (or ``--backend milvus --uri URI --collection NAME``): argument
parsing and startup only; the server is ``dshgan.serve``.

The codes and the run are checked here, before a port is bound, so a missing or foreign index or
collection, an unreachable Milvus, a missing run or a run of another model stops the command
with one line (``dshgan: error: ...``).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from dataclasses import replace

from dshgan.index_cli import _add_backend_options  # the same options as `dshgan search`

# serve.batcher's defaults, written out so that building the parser stays light; a test keeps
# them equal
DEFAULT_MAX_BATCH = 32
DEFAULT_BATCH_WAIT_MS = 2.0


def add_serve_parser(sub) -> None:
    p = sub.add_parser("serve", help="search an index in a browser and over HTTP (JSON API); "
                       "needs pip install 'dshgan[serve]'")
    p.add_argument("index", nargs="?", help="index file (from `dshgan index build`); never "
                   "written (none with --backend milvus)")
    p.add_argument("--run", default=None, help="the run folder, if not where the index "
                   "recorded it (must hold the same model.pt)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: loopback only; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="server processes, each with its own model and index in memory")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--max-upload-mb", type=float, default=10.0,
                   help="largest accepted image file, in MB (default 10)")
    p.add_argument("--batch", type=int, default=DEFAULT_MAX_BATCH,
                   help="most queries encoded in one forward pass (default "
                        f"{DEFAULT_MAX_BATCH}); 1: each request encodes its own image")
    p.add_argument("--batch-wait-ms", type=float, default=DEFAULT_BATCH_WAIT_MS,
                   help="how long a query waits for others to share its forward pass "
                        f"(default {DEFAULT_BATCH_WAIT_MS:g} ms)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per worker for the hashing net (default: half the "
                        "cores, shared among the workers, at least 1; the rest decode uploads "
                        "and answer HTTP)")
    p.add_argument("--net-process", action="store_true",
                   help="run the hashing net (and the batch's index search) in a process of its "
                        "own, so it shares no GIL with HTTP and decoding (docs/serve.md); needs "
                        "micro-batching (--batch above 1)")
    p.add_argument("--root-path", default="",
                   help="the path prefix a reverse proxy serves this under, e.g. /search")
    _add_backend_options(p)


def run_serve(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise RuntimeError(f"dshgan serve needs the serve extra ({exc.name} is missing): "
                           "pip install 'dshgan[serve]'") from exc
    from dshgan.serve.app import create_app
    from dshgan.serve.engine import Engine
    from dshgan.serve.settings import ServeSettings, default_threads
    from dshgan.serve.sources import open_source

    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be from 0 to 65535, got {args.port}")
    if args.batch < 1 or args.batch_wait_ms < 0:
        raise ValueError("--batch must be >= 1 and --batch-wait-ms >= 0")
    if args.net_process and args.batch < 2:
        raise ValueError("--net-process needs micro-batching: a --batch above 1")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.max_upload_mb <= 0:
        raise ValueError(f"--max-upload-mb must be > 0, got {args.max_upload_mb}")
    milvus = args.backend == "milvus"
    if milvus and args.index is not None:
        raise ValueError(f"--backend milvus serves a collection, not the index file "
                         f"{args.index}: give --uri and --collection only")
    if not milvus and args.index is None:
        raise ValueError("give the index file (or --backend milvus --uri URI --collection NAME)")
    if milvus and args.workers > 1 and _is_lite(args.uri):
        raise ValueError("Milvus Lite (a .db file) opens in one process only: serve it with "
                         "--workers 1, or load the collection into a Milvus server")
    settings = ServeSettings(
        index="" if milvus else os.path.abspath(args.index),
        backend="milvus" if milvus else "index", uri=args.uri,
        collection=args.collection, token=args.token, run=args.run, device=args.device,
        max_upload_bytes=int(args.max_upload_mb * 2**20), batching=args.batch > 1,
        max_batch=args.batch, max_wait_s=args.batch_wait_ms / 1000,
        threads=args.threads or default_threads(args.workers), net_process=args.net_process)
    source, run = open_source(settings)  # fails here, with a message, before binding a port
    if not _is_loopback(args.host):
        print(f"dshgan serve: listening on {args.host}: reachable from other machines, with no "
              "authentication; put it behind a reverse proxy (docs/serve.md)", file=sys.stderr)
    behind = f", as {args.root_path}/ behind your reverse proxy" if args.root_path else ""
    what = source.name if milvus else args.index
    print(f"dshgan serve: {what} ({len(source)} images, {source.bits}-bit codes, run {run}) "
          f"at http://{_url_host(args.host)}:{args.port}/{behind} (API reference: /docs); "
          "Ctrl-C stops", flush=True)
    options = {"host": args.host, "port": args.port, "root_path": args.root_path,
               "log_level": "warning", "timeout_graceful_shutdown": 5}
    if args.workers == 1:
        uvicorn.run(create_app(settings, load=lambda: Engine.load(settings, source, run)),
                    **options)
    else:
        os.environ.update(replace(settings, run=run).to_env())
        uvicorn.run("dshgan.serve.app:app_from_env", factory=True, workers=args.workers,
                    **options)
    return 0


def _is_lite(uri: str | None) -> bool:
    """A local file ending in .db: Milvus Lite, run inside this process."""
    return bool(uri) and "://" not in uri and uri.endswith(".db")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
