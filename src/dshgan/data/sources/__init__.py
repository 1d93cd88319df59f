"""Readers for every supported source, and ``load_dataset`` which picks one from the path.

| source                                   | reader                  |
| ---------------------------------------- | ----------------------- |
| folder ``<class>/<img>`` or ``<split>/<class>/<img>`` | ``read_image_folder``  |
| .tar/.tar.gz/.tgz/.tar.bz2/.tar.xz/.zip of the same   | ``read_image_archive`` |
| CIFAR-10 python archive or its extracted folder       | ``read_cifar10_python``|
| list file ``<path> <0/1>...`` (or a folder of them) + image root | ``read_list_dataset`` |
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.sources.archive import is_archive, read_image_archive, scan_image_archive
from dshgan.data.sources.cifar10 import download_cifar10, is_cifar10_python, read_cifar10_python
from dshgan.data.sources.folder import read_image_folder, scan_image_folder
from dshgan.data.sources.listfile import (
    ListFile,
    list_files_in,
    parse_list_file,
    read_list_dataset,
    scan_list_dataset,
)

LIST_SUFFIXES = (".txt", ".list", ".lst")

__all__ = [
    "ListFile", "detect_source", "download_cifar10", "load_dataset", "parse_list_file",
    "read_cifar10_python", "read_image_archive", "read_image_folder", "read_list_dataset",
    "scan_dataset",
]


def detect_source(source: str | os.PathLike | None, list_file: str | os.PathLike | None = None,
                  list_dir: str | os.PathLike | None = None) -> str:
    """"list", "list-dir", "cifar10-python", "archive" or "folder"; DataError when none fits."""
    if list_file is not None and list_dir is not None:
        raise DataError("give list_file or list_dir, not both")
    if list_file is not None:
        return "list"
    if list_dir is not None:
        return "list-dir"
    if source is None:
        raise DataError("give a source path (folder, archive, CIFAR-10 archive or list file)")
    path = Path(source)
    if not path.exists():
        raise DataError(f"source {path} does not exist")
    if path.is_file() and path.name.lower().endswith(LIST_SUFFIXES):
        return "list"
    if is_cifar10_python(path):
        return "cifar10-python"
    if path.is_dir():
        return "folder"
    if is_archive(path):
        return "archive"
    raise DataError(f"unknown source {path}: expected a folder, an archive "
                    "(.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .zip), the CIFAR-10 python archive, "
                    f"or a list file ({', '.join(LIST_SUFFIXES)})")


def resolve_lists(kind: str, source, list_file, list_dir, image_root):
    """(list file(s), image root) for the list kinds: the source doubles as the image root."""
    if kind == "list-dir":
        return list_files_in(list_dir), image_root if image_root is not None else (
            source if source is not None else list_dir)
    if list_file is None:  # the source itself is the list file
        return source, image_root
    return list_file, image_root if image_root is not None else source


def load_dataset(source: str | os.PathLike | None,
                 image_size: int | tuple[int, int] | None = None,
                 list_file: str | os.PathLike | None = None,
                 image_root: str | os.PathLike | None = None,
                 list_dir: str | os.PathLike | None = None,
                 class_names: Sequence[str] | None = None) -> ImageDataset:
    """Read any supported source into an ImageDataset (see the table in this module).

    With ``list_file`` (one list) or ``list_dir`` (every ``*.txt`` list in it, merged),
    ``image_root`` (default: ``source``, else the list's folder) is the folder the listed paths
    are relative to. ``image_size`` (int or (h, w)) resizes every image bilinearly; without it
    all images must already share one size. ``class_names`` names list-file label columns.
    """
    kind = detect_source(source, list_file, list_dir)
    if kind in ("list", "list-dir"):
        lists, root = resolve_lists(kind, source, list_file, list_dir, image_root)
        return read_list_dataset(lists, root, image_size, class_names)
    if kind == "cifar10-python":
        return read_cifar10_python(source, image_size)  # type: ignore[arg-type]
    if kind == "folder":
        return read_image_folder(source, image_size)  # type: ignore[arg-type]
    return read_image_archive(source, image_size)  # type: ignore[arg-type]


def scan_dataset(source: str | os.PathLike | None,
                 list_file: str | os.PathLike | None = None,
                 list_dir: str | os.PathLike | None = None,
                 class_names: Sequence[str] | None = None) -> Catalogue:
    """Names and labels of a source without decoding images (CIFAR-10 batches are read whole)."""
    kind = detect_source(source, list_file, list_dir)
    if kind in ("list", "list-dir"):
        lists, _ = resolve_lists(kind, source, list_file, list_dir, None)
        return scan_list_dataset(lists, class_names)
    if kind == "cifar10-python":
        return read_cifar10_python(source).catalogue  # type: ignore[arg-type]
    if kind == "folder":
        return scan_image_folder(source)  # type: ignore[arg-type]
    return scan_image_archive(source)  # type: ignore[arg-type]
