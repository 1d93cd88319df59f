"""Which files a collection holds: a stable listing, folder labels and content digests.

The listing is sorted by relative path (``/``-separated) so the same folder always gives the
same order, and so the same ids: a resumed build relies on that. Symbolic links are followed,
files and folders alike; a link back to a folder being walked (a cycle) is skipped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from dshgan.data.errors import DataError
from dshgan.data.images import is_image_name
from dshgan.data.sources.layout import UNLABELLED_NAMES, infer_layout, split_parts

LABEL_MODES = ("auto", "folder", "none")
DIGEST_BYTES = 20  # sha1


def list_images(root: str | os.PathLike) -> list[str]:
    """Image files under ``root`` (recursively), as sorted paths relative to it.

    ``root`` may also be a single image file: then the list is its name (relative to its folder).
    """
    root = Path(root)
    if root.is_file():
        if not is_image_name(root.name):
            raise ValueError(f"{root} is not an image file (extensions: .jpg, .png, ...)")
        return [root.name]
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} not found")
    found: list[str] = []
    _walk(root, "", {os.path.realpath(root)}, found)
    return sorted(found)


def _walk(folder: Path, prefix: str, ancestors: set[str], found: list[str]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise RuntimeError(f"cannot list folder {folder}: {exc}") from exc
    for entry in entries:
        if entry.name.startswith("."):
            continue  # hidden files and our own partial folders
        rel = prefix + entry.name
        if entry.is_dir(follow_symlinks=True):
            real = os.path.realpath(entry.path)
            if real in ancestors:
                continue  # a link back up the tree: following it would never end
            _walk(Path(entry.path), rel + "/", ancestors | {real}, found)
        elif entry.is_file(follow_symlinks=True) and is_image_name(entry.name):
            found.append(rel)


def folder_labels(rel_paths: Sequence[str], mode: str = "auto") -> list[list[str]] | None:
    """Labels from the folder layout, as training reads one: each image's parent folder.

    That is the class in every layout ``dshgan train`` takes (``<class>/<image>``,
    ``<split>/<class>/<image>``, ``labelled/<class>/<image>``); images directly under the root
    or anywhere under ``unlabelled/`` get none. ``auto``: so when training would accept the
    listing as one of its layouts, else no labels at all; ``folder``: always; ``none``: never.
    """
    if mode not in LABEL_MODES:
        raise ValueError(f"labels must be one of {LABEL_MODES}, got {mode!r}")
    if mode == "none" or not rel_paths:
        return None
    if mode == "auto":
        try:
            infer_layout(rel_paths, [], "the image folder")
        except DataError:
            return None
    return [label_of(p) for p in rel_paths]


def label_of(rel_path: str) -> list[str]:
    """The parent folder of a root-relative path, as a label list (see ``folder_labels``)."""
    parts = split_parts(rel_path)
    if len(parts) < 2 or parts[0].lower() in UNLABELLED_NAMES:
        return []
    return [parts[-2]]


def stored_path(root: str | os.PathLike, file: str | os.PathLike) -> str:
    """How an index records ``file``: relative to ``root`` (``/``-separated) when inside it,
    else absolute."""
    absolute = os.path.abspath(file)
    rel = os.path.relpath(absolute, os.path.abspath(root))
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        return absolute
    return rel.replace(os.sep, "/")


def file_digest(path: str | os.PathLike) -> bytes:
    """sha1 of the file's bytes: tells an indexed image and its query apart from look-alikes."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.digest()
