"""Images in a folder tree: ``<class>/<image>``, ``<split>/<class>/<image>`` or ``labelled/`` beside
``unlabelled/`` under a root. Symbolic links to folders and files are followed (a collection is
often assembled from links), each real folder once, so a link loop ends."""

from __future__ import annotations

import os
from pathlib import Path

from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.sources.layout import Layout, infer_layout, wanted_file


def _layout(root: Path) -> Layout:
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a directory")
    files, dirs = [], []
    seen: set[tuple[int, int]] = set()  # (device, inode) of folders walked: links may loop
    for here, subdirs, names in os.walk(root, followlinks=True):
        st = os.stat(here)
        if (st.st_dev, st.st_ino) in seen:
            subdirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        rel = Path(here).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        dirs.extend(prefix + d for d in subdirs)
        files.extend(prefix + n for n in names if wanted_file(prefix + n))
    return infer_layout(files, dirs, str(root))


def scan_image_folder(root: str | os.PathLike) -> Catalogue:
    """Names, labels and official split of an image folder, without decoding any image."""
    return _layout(Path(root)).catalogue()


def read_image_folder(root: str | os.PathLike,
                      image_size: int | tuple[int, int] | None = None) -> ImageDataset:
    """Decode every image under ``root`` (sorted by relative path) into an ImageDataset."""
    root = Path(root)
    layout = _layout(root)

    def fetch(name: str) -> bytes:
        try:
            return (root / name).read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read image {root / name}: {exc}") from exc

    return layout.decode(fetch, lambda name: str(root / name), image_size)
