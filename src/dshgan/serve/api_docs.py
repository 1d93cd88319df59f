"""The OpenAPI page at /docs, with Swagger UI served from an installed package, never a CDN.

Why: FastAPI's default /docs page loads Swagger UI from a CDN, which a server on a closed network
(or a laptop offline) cannot reach. The ``swagger-ui-bundle-v2`` package (in the ``serve`` extra)
ships Swagger UI 5 (the first to read OpenAPI 3.1, which FastAPI writes); its files are mounted
under /docs-assets. Without the package, /docs says how to get it; /openapi.json works anyway.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def swagger_ui_folder() -> str | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return str(swagger_ui_path)


def add_api_docs(app: FastAPI, favicon_url: str) -> None:
    """/docs (Swagger UI from the package's files) beside FastAPI's /openapi.json."""
    folder = swagger_ui_folder()
    if folder is not None:
        app.mount(ASSETS, StaticFiles(directory=folder), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        if folder is None:
            return PlainTextResponse(
                "Swagger UI is not installed: pip install 'dshgan[serve]' (swagger-ui-bundle-v2)."
                " The API description is at /openapi.json.", status_code=503)
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"), title="dshgan API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=root + favicon_url)
