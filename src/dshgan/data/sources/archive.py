"""Image archives (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .zip), read in place.

Tar archives are streamed once (``r|*``), so a compressed archive is decompressed once and
nothing is extracted to disk; image bytes are kept in memory until decoded in sorted order.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.sources.layout import Layout, infer_layout, split_parts, wanted_file

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ARCHIVE_SUFFIXES = TAR_SUFFIXES + (".zip",)

_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError)


def is_archive(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _norm(name: str) -> str:
    return "/".join(split_parts(name))


def _members(path: Path | BinaryIO, label: str, with_bytes: bool,
             ) -> tuple[dict[str, bytes | None], list[str]]:
    """{normalized image name: bytes or None}, directory names; one pass over the archive."""
    files: dict[str, bytes | None] = {}
    dirs: list[str] = []
    # By suffix, not zipfile.is_zipfile: a tar whose last member is a zip passes that test.
    is_zip = isinstance(path, Path) and path.name.lower().endswith(".zip")
    member = "?"
    try:
        if is_zip:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    member = info.filename
                    if info.is_dir():
                        dirs.append(_norm(member))
                    elif wanted_file(member):
                        files[_norm(member)] = zf.read(info) if with_bytes else None
        else:
            kwargs = {"name": str(path)} if isinstance(path, Path) else {"fileobj": path}
            with tarfile.open(mode="r|*", **kwargs) as tf:
                for info in tf:
                    member = info.name
                    if info.isdir():
                        dirs.append(_norm(member))
                    elif info.isfile() and wanted_file(member):
                        fh = tf.extractfile(info)
                        files[_norm(member)] = fh.read() if with_bytes and fh else None
    except _READ_ERRORS as exc:
        raise DataError(f"cannot read archive {label} (at member {member!r}): {exc}") from exc
    return files, dirs


def _layout(path: str | os.PathLike | BinaryIO, with_bytes: bool,
            ) -> tuple[Layout, dict[str, bytes | None], str]:
    if hasattr(path, "read"):
        src: Path | BinaryIO = path  # type: ignore[assignment]
        label = str(getattr(path, "name", "<archive>"))
    else:
        src = Path(path)
        label = str(src)
        if not src.is_file():
            raise DataError(f"archive {src} does not exist")
    files, dirs = _members(src, label, with_bytes)
    return infer_layout(files, dirs, label), files, label


def scan_image_archive(path: str | os.PathLike | BinaryIO) -> Catalogue:
    """Names, labels and official split of an image archive, without decoding any image."""
    return _layout(path, with_bytes=False)[0].catalogue()


def read_image_archive(path: str | os.PathLike | BinaryIO,
                       image_size: int | tuple[int, int] | None = None) -> ImageDataset:
    """Decode every image of an archive (sorted by member name) into an ImageDataset.

    ``path`` may also be an open binary file object (a tar stream, possibly compressed).
    """
    layout, files, label = _layout(path, with_bytes=True)
    return layout.decode(lambda name: files[name],  # type: ignore[arg-type,return-value]
                         lambda name: f"member {name!r} of {label}", image_size)
