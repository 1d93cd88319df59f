"""List files in the DeepHash / HashNet format: ``<relative image path> <0/1> ... <0/1>``.

This is how NUS-WIDE (21 concepts) and the DeepHash CIFAR lists come: one image per line, the
path relative to an image root, then the multi-hot label vector. Paths may not contain spaces.
A line holding only a path is an unlabelled image (it joins the unlabelled pool; its row of
labels is all zeros). A vector of zeros is not the same: it says "none of these classes", which
is refused unless ``allow_all_zero`` (or dropped by ``data.top_concepts``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.images import decode_image, normalize_size, stack_images


@dataclass(frozen=True)
class ListFile:
    """A parsed list file: names as written, labels (n, c) uint8, 1-based line of each entry."""

    path: Path
    names: list[str]
    labels: np.ndarray
    lines: list[int]


def parse_list_file(path: str | os.PathLike, num_classes: int | None = None,
                    allow_all_zero: bool = False) -> ListFile:
    """Parse and validate a list file; every error names the file and the 1-based line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(f"list file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read list file {path}: {exc}") from exc
    rows = text.splitlines()
    while rows and not rows[-1].strip():  # trailing blank lines are harmless
        rows.pop()
    if not rows:
        raise DataError(f"list file {path} has no entries")
    names: list[str] = []
    vectors: list[list[int]] = []
    lines: list[int] = []
    first_line: dict[str, int] = {}
    width = num_classes
    width_from = "expected" if num_classes is not None else None
    for lineno, row in enumerate(rows, start=1):
        where = f"{path}:{lineno}"
        tokens = row.split()
        if not tokens:
            raise DataError(f"{where}: blank line; remove it (each line must be "
                            "'<image path> <0/1> ... <0/1>')")
        name, entries = tokens[0], tokens[1:]
        if name in first_line:
            raise DataError(f"{where}: {name!r} is already listed at line {first_line[name]}")
        if not entries:  # unlabelled: its zero row is made once the width is known
            first_line[name] = lineno
            names.append(name)
            vectors.append([])
            lines.append(lineno)
            continue
        for j, tok in enumerate(entries, start=1):
            if tok not in ("0", "1"):
                raise DataError(f"{where}: label entry {j} is {tok!r}, expected 0 or 1 "
                                "(image paths may not contain spaces)")
        if width is None:
            width, width_from = len(entries), f"line {lineno}"
        elif len(entries) != width:
            ref = (f"{width} classes are expected" if width_from == "expected"
                   else f"{width_from} has {width}")
            raise DataError(f"{where}: label vector has {len(entries)} entries but {ref}")
        vector = [int(t) for t in entries]
        if not allow_all_zero and not any(vector):
            raise DataError(f"{where}: {name!r} has an all-zero label vector; remove the line "
                            "(an image with none of the classes is relevant to no query and "
                            "cannot be drawn for any class) or give it its labels")
        first_line[name] = lineno
        names.append(name)
        vectors.append(vector)
        lines.append(lineno)
    if width is None:
        raise DataError(f"list file {path}: no line has a label vector; label at least the "
                        "images of each class ('<image path> <0/1> ... <0/1>')")
    rows = [v if v else [0] * width for v in vectors]
    return ListFile(path, names, np.asarray(rows, dtype=np.uint8).reshape(len(rows), width),
                    lines)


@dataclass(frozen=True)
class _Lists:
    """One or more list files merged: names in first-seen order, where each came from."""

    names: list[str]
    labels: np.ndarray
    where: list[str]
    splits: np.ndarray | None


def list_files_in(list_dir: str | os.PathLike) -> list[Path]:
    """The list files (``*.txt``, sorted) of a folder such as DeepHash's data/nus_wide."""
    folder = Path(list_dir)
    if not folder.is_dir():
        raise DataError(f"list folder {folder} does not exist or is not a directory")
    files = sorted(p for p in folder.glob("*.txt") if p.is_file())
    if not files:
        raise DataError(f"list folder {folder} holds no *.txt list files")
    return files


def _merge(list_files: Sequence[str | os.PathLike], num_classes: int | None) -> _Lists:
    """Parse every file; an image in several files must carry the same labels in each.

    official_split is the file's stem (e.g. "train", "test") when no image is in two files.
    """
    names: list[str] = []
    rows: list[np.ndarray] = []
    where: list[str] = []
    stems: list[str] = []
    seen: dict[str, int] = {}
    overlap = False
    for path in list_files:
        parsed = parse_list_file(path, num_classes)
        num_classes = parsed.labels.shape[1]
        for name, row, line in zip(parsed.names, parsed.labels, parsed.lines):
            if name in seen:
                overlap = True
                j = seen[name]
                if not np.array_equal(rows[j], row):
                    raise DataError(f"{parsed.path}:{line}: {name!r} has other labels than at "
                                    f"{where[j]}")
                continue
            seen[name] = len(names)
            names.append(name)
            rows.append(row)
            where.append(f"{parsed.path}:{line}")
            stems.append(parsed.path.stem)
    splits = None if overlap or len(list_files) < 2 else np.asarray(stems, dtype=str)
    return _Lists(names, np.asarray(rows, dtype=np.uint8), where, splits)


def _as_paths(list_file: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    if isinstance(list_file, (str, os.PathLike)):
        return [Path(list_file)]
    paths = [Path(p) for p in list_file]
    if not paths:
        raise DataError("no list files given")
    return paths


def _meta(lists: _Lists, class_names: Sequence[str] | None, multi_label: bool | None,
          ) -> tuple[list[str], bool]:
    c = lists.labels.shape[1]
    if class_names is None:
        class_names = [f"class_{j:02d}" for j in range(c)]
    elif len(class_names) != c:
        raise DataError(f"{len(class_names)} class names given but the list has {c} label "
                        "columns")
    several = lists.labels.sum(axis=1) > 1
    if multi_label is None:
        multi_label = bool(several.any())
    elif not multi_label and several.any():
        raise DataError(f"{lists.where[int(np.flatnonzero(several)[0])]}: several labels set "
                        "but multi_label=False")
    return list(class_names), multi_label


ListSource = str | os.PathLike | Sequence[str | os.PathLike]


def scan_list_dataset(list_file: ListSource, class_names: Sequence[str] | None = None,
                      multi_label: bool | None = None) -> Catalogue:
    """Names and labels of one list file (or several, merged), without touching the images."""
    lists = _merge(_as_paths(list_file), None if class_names is None else len(class_names))
    names, multi = _meta(lists, class_names, multi_label)
    return Catalogue(lists.names, lists.labels, names, multi, lists.splits)


def read_list_dataset(list_file: ListSource, image_root: str | os.PathLike | None = None,
                      image_size: int | tuple[int, int] | None = None,
                      class_names: Sequence[str] | None = None,
                      multi_label: bool | None = None) -> ImageDataset:
    """Decode the images that one list file (or several, merged) names, under ``image_root``.

    image_root defaults to the first list file's folder. Order: file order, then line order; an
    image listed twice is read once. multi_label defaults to "some line has several labels".
    """
    paths = _as_paths(list_file)
    lists = _merge(paths, None if class_names is None else len(class_names))
    names, multi = _meta(lists, class_names, multi_label)
    root = Path(image_root) if image_root is not None else paths[0].parent
    if not root.is_dir():
        raise DataError(f"image root {root} for list file {paths[0]} is not a directory")
    files = [root / n for n in lists.names]
    for f, where in zip(files, lists.where):  # fail before decoding anything
        if not f.is_file():
            raise DataError(f"{where}: image {f} not found (image root {root})")
    size = normalize_size(image_size)
    arrays = []
    for f, where in zip(files, lists.where):
        try:
            data = f.read_bytes()
        except OSError as exc:
            raise DataError(f"{where}: cannot read image {f}: {exc}") from exc
        arrays.append(decode_image(data, f"{f} ({where})", size))
    images = stack_images(arrays, [str(f) for f in files])
    return ImageDataset(images, lists.labels, names, lists.names, multi, lists.splits)
