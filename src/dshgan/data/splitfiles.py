"""Saving a protocol split as list files plus ``split.json``, and reading it back checked.

``<out>/query.txt, train.txt, validation.txt, database.txt``: list-file lines (name + label
vector); ``unlabelled.names``: one name per line (labels hidden); ``split.json``: protocol, seed,
topk, counts and the dataset fingerprint. split.json is written last and removed first, so a
folder without it is an interrupted write, never a mix of two splits.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.protocols import Protocol, Split, get_protocol, list_protocols, make_split
from dshgan.data.sources import scan_dataset
from dshgan.data.sources.listfile import parse_list_file
from dshgan.data.writers import format_list_lines
from dshgan.io_utils import atomic_file

SPLIT_FORMAT = "dshgan-split"
SPLIT_VERSION = 1
LABELLED_PARTS = ("query", "train", "validation", "database")
PARTS = (*LABELLED_PARTS, "unlabelled")
# unlabelled.names is not *.txt on purpose: the split folder stays a valid ``list_dir``.
FILES = {**{p: f"{p}.txt" for p in LABELLED_PARTS}, "unlabelled": "unlabelled.names"}


def check_split(split: Split, n: int) -> None:
    """Raise DataError unless indices are in range, unique and the parts that must be are disjoint.

    Queries share nothing with any other part; train and validation share nothing; validation
    is never in the unlabelled pool (validation images never train).
    """
    for part in PARTS:
        idx = getattr(split, part)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise DataError(f"split part {part!r} has indices outside 0..{n - 1}")
        if len(np.unique(idx)) != len(idx):
            raise DataError(f"split part {part!r} repeats an image")
    pairs = [("query", p) for p in PARTS[1:]] + [("train", "validation"),
                                                  ("validation", "unlabelled")]
    for a, b in pairs:
        common = np.intersect1d(getattr(split, a), getattr(split, b))
        if common.size:
            raise DataError(f"split parts {a!r} and {b!r} share {common.size} images "
                            f"(e.g. index {int(common[0])})")


def write_split(split: Split, dataset: ImageDataset | Catalogue, out_dir: str | os.PathLike,
                ) -> Path:
    """Write the split's list files and split.json into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    check_split(split, len(dataset))
    texts = {FILES[p]: format_list_lines([dataset.names[i] for i in getattr(split, p)],
                                           dataset.labels[getattr(split, p)])
             for p in LABELLED_PARTS}
    texts[FILES["unlabelled"]] = "".join(dataset.names[i] + "\n" for i in split.unlabelled)
    meta = {
        "format": SPLIT_FORMAT, "version": SPLIT_VERSION,
        "protocol": split.protocol, "seed": split.seed, "topk": split.topk,
        "counts": split.counts(),
        "files": FILES,
        "dataset": {"fingerprint": dataset.fingerprint(), "images": len(dataset),
                    "classes": list(dataset.class_names),
                    "multi_label": bool(dataset.multi_label)},
    }
    if split.protocol in list_protocols():
        meta["protocol_spec"] = asdict(get_protocol(split.protocol))
    out.mkdir(parents=True, exist_ok=True)
    (out / "split.json").unlink(missing_ok=True)
    for name, text in texts.items():
        with atomic_file(out / name, "w") as fh:
            fh.write(text)
    with atomic_file(out / "split.json", "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    return out


def read_split(out_dir: str | os.PathLike, dataset: ImageDataset | Catalogue) -> Split:
    """Read a split written by :func:`write_split` and check it belongs to ``dataset``.

    Checks the fingerprint, that every listed name exists with the same labels, the counts in
    split.json, and disjointness (:func:`check_split`).
    """
    out = Path(out_dir)
    meta_path = out / "split.json"
    if not meta_path.is_file():
        raise DataError(f"{meta_path} is missing: {out} holds no complete split "
                        "(write it with `dshgan data prepare`)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {meta_path}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != SPLIT_FORMAT:
        raise DataError(f"{meta_path} is not a dshgan split file")
    if meta.get("version") != SPLIT_VERSION:
        raise DataError(f"{meta_path} has split format version {meta.get('version')}, "
                        f"this dshgan reads version {SPLIT_VERSION}")
    want = meta["dataset"]["fingerprint"]
    have = dataset.fingerprint()
    if want != have:
        raise DataError(f"split in {out} was made for another dataset (fingerprint {want[:12]}..."
                        f" vs {have[:12]}...: different images, names, labels or classes); "
                        "prepare the split again for this dataset")
    index = {name: i for i, name in enumerate(dataset.names)}
    parts: dict[str, np.ndarray] = {}
    for part in LABELLED_PARTS:
        path = out / meta["files"][part]
        idx = np.empty(0, dtype=np.int64)
        if meta["counts"][part]:
            parsed = parse_list_file(path, dataset.labels.shape[1], allow_all_zero=True)
            idx = _lookup(parsed.names, parsed.lines, index, path)
            bad = np.flatnonzero((parsed.labels != dataset.labels[idx]).any(axis=1))
            if bad.size:
                raise DataError(f"{path}:{parsed.lines[bad[0]]}: labels of "
                                f"{parsed.names[bad[0]]!r} differ from the dataset's")
        parts[part] = idx
    path = out / meta["files"]["unlabelled"]
    try:
        rows = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    parts["unlabelled"] = _lookup([r.strip() for r in rows], list(range(1, len(rows) + 1)),
                                  index, path)
    for part in PARTS:
        if len(parts[part]) != meta["counts"][part]:
            raise DataError(f"{out / meta['files'][part]} lists {len(parts[part])} images but "
                            f"split.json says {meta['counts'][part]}")
    split = Split(**{p: np.sort(parts[p]) for p in PARTS}, protocol=meta["protocol"],
                  seed=int(meta["seed"]), topk=meta["topk"])
    check_split(split, len(dataset))
    return split


def _lookup(names: list[str], lines: list[int], index: dict[str, int], path: Path) -> np.ndarray:
    idx = np.empty(len(names), dtype=np.int64)
    for j, (name, line) in enumerate(zip(names, lines)):
        if name not in index:
            raise DataError(f"{path}:{line}: {name!r} is not in the dataset")
        idx[j] = index[name]
    return idx


def prepare(name: str | Protocol, source: str | os.PathLike | None, out_dir: str | os.PathLike,
            seed: int = 0, list_file: str | os.PathLike | None = None,
            list_dir: str | os.PathLike | None = None,
            image_root: str | os.PathLike | None = None,
            class_names: list[str] | None = None) -> Split:
    """``dshgan data prepare NAME --source PATH``: catalogue the source (no image is decoded),
    draw the protocol's split with ``seed``, write it to ``out_dir`` and return it; ``dshgan
    train --split OUT_DIR`` (config ``data.split_dir``) trains on exactly that split.

    ``image_root`` is accepted for symmetry with :func:`load_dataset` and not needed here: a
    split records image names only.
    """
    del image_root
    catalogue = scan_dataset(source, list_file=list_file, list_dir=list_dir,
                             class_names=class_names)
    if isinstance(name, Protocol):
        protocol = name
    else:  # a registered name, or "auto" (sized from the smallest class)
        from dshgan.data.split_sizes import resolve_protocol

        protocol, _ = resolve_protocol(name, catalogue.labels, catalogue.class_names,
                                       catalogue.multi_label)
    split = make_split(catalogue, protocol, seed)
    write_split(split, catalogue, out_dir)
    return split
