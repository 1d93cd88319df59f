"""``dshgan serve``: search an image index over HTTP, with a page for people and a JSON API.

Needs the ``serve`` extra (``pip install 'dshgan[serve]'``: FastAPI, uvicorn, python-multipart,
Swagger UI's files). ``create_app(ServeSettings(index=...))`` is the app; ``Engine`` the loaded
model and index behind it. Reference and deployment notes: docs/serve.md.
"""

from dshgan.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str):
    if name == "create_app":  # FastAPI loads only when the app is wanted
        from dshgan.serve.app import create_app

        return create_app
    raise AttributeError(name)
