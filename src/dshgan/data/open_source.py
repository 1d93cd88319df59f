"""Open any supported source for training: folders and list files stay path-backed
(:class:`ImageFiles`), archives and the CIFAR-10 python batches are decoded into memory.

Why the split: files on disk can be read one at a time, so a collection of any size costs only
its names until images are needed; archives (``.tar.gz`` reads sequentially) and CIFAR's pickled
batches have no cheap random access, and the sets that come that way are small enough to decode.
"""

from __future__ import annotations

import os
from pathlib import Path

from dshgan.data.concepts import top_concepts
from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.files import ImageFiles
from dshgan.data.sources import detect_source, load_dataset, resolve_lists
from dshgan.data.sources.folder import scan_image_folder
from dshgan.data.sources.listfile import scan_list_dataset


def open_images(source: str | os.PathLike | None, image_size: int,
                list_dir: str | os.PathLike | None = None,
                image_root: str | os.PathLike | None = None,
                top: int | None = None) -> ImageDataset | ImageFiles:
    """The dataset a run trains on; ``image_size`` is used only by sources decoded at once.

    ``top`` keeps the ``top`` most frequent concepts (data.top_concepts).
    """
    if source is None and list_dir is None:
        from dshgan.data import load_sample

        data: ImageDataset | ImageFiles = load_sample()
    else:
        kind = detect_source(source, None, list_dir)
        if kind == "folder":
            data = ImageFiles(Path(source), scan_image_folder(source))
        elif kind in ("list", "list-dir"):
            lists, root = resolve_lists(kind, source, None, list_dir, image_root)  # as load_dataset
            if root is None:  # a single list file: its images sit beside it
                root = Path(source).parent
            if not Path(root).is_dir():
                raise DataError(f"image root {root} of the list files is not a directory")
            data = ImageFiles(Path(root), scan_list_dataset(lists))
        else:
            data = load_dataset(source, image_size=image_size)
    return keep_top_concepts(data, top) if top else data


def keep_top_concepts(data: ImageDataset | ImageFiles, n: int) -> ImageDataset | ImageFiles:
    """``data`` on its ``n`` most frequent concepts, images left with none dropped."""
    rows, labels, names = top_concepts(data.labels, data.class_names, n)
    if isinstance(data, ImageDataset):
        kept = data.subset(rows)
        return ImageDataset(kept.images, labels, names, kept.names, data.multi_label,
                            kept.official_split)
    c = data.catalogue
    split = None if c.official_split is None else c.official_split[rows]
    return ImageFiles(data.root, Catalogue([c.names[i] for i in rows], labels, names,
                                           c.multi_label, split))
