"""Atomic file writes for everything the report package produces.

A reader (the HTTP server, a user's ``cat``, a crashed run picked up by ``--resume``) must see
either the old file or the new one, never half of one: we write a temporary file in the target's
own folder (same file system, so the rename is atomic) and ``os.replace`` it over the target.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

_TEMP_SUFFIX = ".tmp"


def temp_path_for(path: Path) -> Path:
    """A fresh hidden sibling of ``path``; the suffix lets tests and users spot leftovers."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}{_TEMP_SUFFIX}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating parent folders; returns the path."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write a file over the folder {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    # os.open with 0o666 lets the process umask decide the final mode, as a plain open() would;
    # tempfile.mkstemp would leave every report readable by its owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines kept as given)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode(encoding))
