"""The HTTP API and the search page of ``dshgan serve`` (FastAPI).

Routes (docs/serve.md has the reference): ``POST /api/search`` (an uploaded image),
``GET /api/items/{id}``, ``/api/items/{id}/thumbnail``, ``/api/items/{id}/similar``,
``/api/stats``, ``/healthz`` (the process answers), ``/readyz`` (503 until the model and index
are loaded), the page at ``/`` with its files under ``/static``, and the OpenAPI page at
``/docs``. Nothing writes to the index: there is no route that could.

The model and index load in a background thread when the app starts, so the process answers
``/healthz`` at once and a load balancer can wait on ``/readyz``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from dshgan.serve.api_docs import add_api_docs
from dshgan.serve.engine import Engine, UploadSearch, answer
from dshgan.serve.limits import MAX_K, MIN_K, Refused, check_radius
from dshgan.serve.settings import ServeSettings
from dshgan.serve.uploads import FRAMING_BYTES, image_part, parse_multipart, read_body

STATIC = Path(__file__).parent / "static"

SEARCH_BODY = {  # what /docs shows for the upload (the body is parsed by uploads.py)
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["image"],
        "properties": {"image": {"type": "string", "format": "binary",
                                 "description": "the query image (JPEG, PNG, BMP, GIF, WebP, "
                                                "PPM, TIFF; at most 10 MB by default)"}}}}},
}
K = Query(10, ge=MIN_K, le=MAX_K, description="results to return")
RADIUS = Query(None, ge=0, description="only results within this Hamming distance (inclusive)")


class Loader:
    """Loads the engine in a thread; tells whether it is ready or why it failed."""

    def __init__(self, load: Callable[[], Engine]):
        self.engine: Engine | None = None
        self.error: str | None = None
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, args=(load,), name="dshgan-load",
                                        daemon=True)
        self._thread.start()

    def _run(self, load: Callable[[], Engine]) -> None:
        try:
            self.engine = load()
        except Exception as exc:  # noqa: BLE001 (reported by /readyz; the process stays up)
            self.error = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        self._thread.join()
        if self.engine is not None:
            self.engine.close()


def create_app(settings: ServeSettings | None = None,
               load: Callable[[], Engine] | None = None) -> FastAPI:
    """The app for ``settings`` (or for an engine ``load`` makes, e.g. in tests)."""
    if load is None:
        if settings is None:
            raise ValueError("give settings or a load function")

        def load() -> Engine:
            return Engine.load(settings)
    max_upload = (settings or ServeSettings(index="")).max_upload_bytes

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.loader = Loader(load)
        yield
        await run_in_threadpool(app.state.loader.close)

    app = FastAPI(title="dshgan", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Search an image collection by image, with the binary codes of a "
                              "trained DSH-GAN run.")
    add_api_docs(app, "/static/favicon.svg")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    def engine(request: Request) -> Engine:
        loader: Loader = request.app.state.loader
        if loader.engine is None:
            raise Refused(503, f"not ready: {loader.error}" if loader.error else
                          "not ready: loading the model and the index")
        return loader.engine

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        """The process is alive (it may still be loading: see /readyz)."""
        return {"status": "alive"}

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """200 once the model and the index are loaded, 503 before (or if loading failed, or
        the net's own process stopped)."""
        loader: Loader = request.app.state.loader
        if loader.engine is not None:
            problem = loader.engine.problem()
            if problem is None:
                return JSONResponse({"status": "ready"})
            return JSONResponse({"status": "failed", "detail": problem}, status_code=503)
        return JSONResponse({"status": "failed" if loader.error else "loading",
                             "detail": loader.error}, status_code=503)

    @app.get("/api/stats", tags=["index"])
    def stats(request: Request) -> dict:
        """Items, code length, the model's fingerprint, uptime and queries served (this
        process's; with several workers each answers for itself)."""
        out = engine(request).stats()
        out["uptime_s"] = round(time.monotonic() - request.app.state.loader.started, 3)
        return out

    @app.post("/api/search", tags=["search"], openapi_extra={"requestBody": SEARCH_BODY})
    async def search(request: Request, k: int = K, radius: int | None = RADIUS) -> dict:
        """The nearest indexed images of an uploaded image (multipart field ``image``)."""
        started = time.perf_counter()
        eng = engine(request)
        check_radius(radius, eng.source.bits)
        body = await read_body(request.stream(), request.headers.get("content-length"),
                               max_upload + FRAMING_BYTES)
        data = bytes(image_part(parse_multipart(body, request.headers.get("content-type")),
                                max_upload).data)
        t0 = time.perf_counter()
        eng.encoding.expect()  # a batch starting while this decodes may wait for it
        try:
            image, digest = await run_in_threadpool(eng.read_upload, data)
        except BaseException:
            eng.encoding.forget()
            raise
        t1 = time.perf_counter()
        # an index file is searched with the batch, after its forward pass; Milvus (a network
        # call per query) here, so that its searches never hold up the net's thread
        job = UploadSearch(k, radius, digest) if eng.search_with_batch else None
        if eng.encoding.max_batch > 1:
            future = eng.encoding.submit(image, expected=True, job=job)
        else:  # the plain way encodes right away: not on the event loop's thread
            future = await run_in_threadpool(eng.encoding.submit, image, True, job)
        if job is not None:
            code, results, search_s = await asyncio.wrap_future(future)
        else:
            code = await asyncio.wrap_future(future)
            t2 = time.perf_counter()
            results = await run_in_threadpool(eng.search_code, code, k, radius, digest)
            search_s = time.perf_counter() - t2
        encode_s = time.perf_counter() - t1 - search_s
        return answer(results, eng.describe_upload(code, digest, results), k, radius, started,
                      request.scope.get("root_path", ""), decode=t1 - t0, encode=encode_s,
                      search=search_s)

    @app.get("/api/items/{id}", tags=["index"])
    def item(request: Request, id: int) -> dict:
        """An indexed image: its stored path, labels, sha1, code and thumbnail URL."""
        return engine(request).item_json(id, request.scope.get("root_path", ""))

    @app.get("/api/items/{id}/thumbnail", tags=["index"],
             responses={200: {"content": {"image/jpeg": {}}}})
    def thumbnail(request: Request, id: int) -> Response:
        """A small JPEG of an indexed image (made from the index's own file)."""
        data = engine(request).thumbnail(id)
        return Response(data, media_type="image/jpeg",
                        headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/api/items/{id}/similar", tags=["search"])
    def similar(request: Request, id: int, k: int = K, radius: int | None = RADIUS) -> dict:
        """The nearest indexed images of an indexed image, by its stored code ("more like
        this"); the item itself comes first."""
        started = time.perf_counter()
        eng = engine(request)
        t0 = time.perf_counter()
        results, query = eng.similar(id, k, radius)
        return answer(results, query, k, radius, started, request.scope.get("root_path", ""),
                      search=time.perf_counter() - t0)

    return app


def app_from_env() -> FastAPI:
    """The app of a worker process started by ``dshgan serve --workers N``."""
    return create_app(ServeSettings.from_env())
