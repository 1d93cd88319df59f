"""Layout of an image folder or archive: ``<class>/<image>``, ``<split>/<class>/<image>``, or
``labelled/<class>/<image>`` beside ``unlabelled/**/<image>`` (any depth) for own collections.

Both the folder and the archive readers hand their file names here, so the two agree on what a
class is, which files count, and in which (sorted) order images come out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.images import decode_image, is_image_name, normalize_size, stack_images

# A single top folder with one of these names is a split, not a wrapper around the dataset.
SPLIT_NAMES = frozenset({"train", "test", "val", "valid", "validation", "query", "database",
                         "db", "gallery", "trainval"})
LABELLED_NAMES = ("labelled", "labeled")
UNLABELLED_NAMES = ("unlabelled", "unlabeled")


def split_parts(name: str) -> list[str]:
    """Archive member or relative path -> its parts, without '', '.' and leading '/'."""
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]


def is_hidden(parts: list[str]) -> bool:
    """Dot files and macOS resource forks are never images of the dataset."""
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def wanted_file(name: str) -> bool:
    parts = split_parts(name)
    return bool(parts) and not is_hidden(parts) and is_image_name(parts[-1])


@dataclass(frozen=True)
class Layout:
    """Where the images are: sorted names, their class and split (None without split folders)."""

    names: list[str]
    classes: list[str | None]  # None: an unlabelled image
    splits: list[str] | None
    class_names: list[str]

    def labels(self) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.class_names)}
        labels = np.zeros((len(self.names), len(self.class_names)), dtype=np.uint8)
        rows = [i for i, c in enumerate(self.classes) if c is not None]
        labels[rows, [index[self.classes[i]] for i in rows]] = 1
        return labels

    def catalogue(self) -> Catalogue:
        split = None if self.splits is None else np.asarray(self.splits, dtype=str)
        return Catalogue(self.names, self.labels(), self.class_names, False, split)

    def decode(self, fetch: Callable[[str], bytes], describe: Callable[[str], str],
               image_size: int | tuple[int, int] | None = None) -> ImageDataset:
        """Decode every image (``fetch(name)`` gives its bytes) into an ImageDataset."""
        size = normalize_size(image_size)
        arrays = [decode_image(fetch(n), describe(n), size) for n in self.names]
        images = stack_images(arrays, [describe(n) for n in self.names])
        split = None if self.splits is None else np.asarray(self.splits, dtype=str)
        return ImageDataset(images, self.labels(), self.class_names, self.names, False, split)


def infer_layout(files: Iterable[str], dirs: Iterable[str], source: str) -> Layout:
    """Decide the layout from image file names and directory names (both relative to the root).

    ``files`` should already be filtered with :func:`wanted_file`. Raises DataError for no images,
    images at mixed depths, an unknown depth, or a class folder without images.
    """
    paths = sorted("/".join(split_parts(f)) for f in files)
    if not paths:
        raise DataError(f"no image files found in {source} (looked for "
                        "<class>/<image> or <split>/<class>/<image>)")
    parts = [split_parts(p) for p in paths]
    tops = {p[0].lower() for p in parts}
    if tops & {*LABELLED_NAMES, *UNLABELLED_NAMES}:
        return _labelled_unlabelled_layout(paths, parts, dirs, source)
    depths = sorted({len(p) for p in parts})
    if len(depths) > 1:
        examples = ", ".join(repr(next(p for p, q in zip(paths, parts) if len(q) == d))
                             for d in depths)
        raise DataError(f"unknown layout in {source}: images sit at different depths (e.g. "
                        f"{examples}); expected <class>/<image> or <split>/<class>/<image>")
    depth = depths[0]
    skip = 0  # leading wrapper folders shared by every image, e.g. "cifar10/train/cat/1.jpg"
    while depth - skip >= 3 and len({p[skip] for p in parts}) == 1 \
            and parts[0][skip].lower() not in SPLIT_NAMES:
        skip += 1
    level = depth - skip
    if level not in (2, 3):
        hint = "images must sit in class folders" if level == 1 else "too many folder levels"
        raise DataError(f"unknown layout in {source}: {hint} (e.g. {paths[0]!r}); expected "
                        "<class>/<image> or <split>/<class>/<image>")
    has_split = level == 3
    classes = [p[-2] for p in parts]
    splits = [p[skip] for p in parts] if has_split else None
    class_names = sorted(set(classes))

    # A class folder that exists but holds no images is a mistake worth stopping for.
    class_depth = depth - 1
    occupied = {"/".join(p[:class_depth]) for p in parts}
    parents = {"/".join(p[:class_depth - 1]) for p in parts}
    for d in sorted(dirs):
        dp = split_parts(d)
        if len(dp) == class_depth and not is_hidden(dp) and "/".join(dp[:-1]) in parents \
                and "/".join(dp) not in occupied:
            raise DataError(f"class folder {'/'.join(dp)!r} in {source} holds no images")
    names = ["/".join(p) for p in parts]
    return Layout(names, classes, splits, class_names)


def _labelled_unlabelled_layout(paths: list[str], parts: list[list[str]], dirs: Iterable[str],
                                source: str) -> Layout:
    """``labelled/<class>/<image>`` (exactly that depth) beside ``unlabelled/**/<image>``."""
    classes: list[str | None] = []
    for path, p in zip(paths, parts):
        top = p[0].lower()
        if top in LABELLED_NAMES:
            if len(p) != 3:
                raise DataError(f"{source}: {path!r} is not labelled/<class>/<image>; labelled "
                                "images sit in one folder per class")
            classes.append(p[1])
        elif top in UNLABELLED_NAMES:
            classes.append(None)
        else:
            raise DataError(f"{source}: {path!r} is outside labelled/ and unlabelled/; a folder "
                            "with those two keeps every image in one of them")
    class_names = sorted({c for c in classes if c is not None})
    if not class_names:
        raise DataError(f"{source}: no labelled images (expected labelled/<class>/<image>)")
    occupied = {f"{p[0]}/{p[1]}" for p in parts if p[0].lower() in LABELLED_NAMES}
    for d in sorted(dirs):
        dp = split_parts(d)
        if len(dp) == 2 and dp[0].lower() in LABELLED_NAMES and not is_hidden(dp) \
                and "/".join(dp) not in occupied:
            raise DataError(f"class folder {'/'.join(dp)!r} in {source} holds no images")
    return Layout(paths, classes, None, class_names)
