"""Join image indexes built apart (other machines, ``index build --shard R/N``) into one.

Why a command of its own: shards built on machines that share no process group still have to
become one index, and codes only mix when the same model made them, so every part must carry
the first part's model fingerprint (model.pt sha256, code length, image size). Parts are
appended in the order given, with new ids 0, 1, 2, ...; so the shards of one folder, merged in
shard order, equal the index a single build of the folder writes. Paths are re-expressed from
the parts' common root; an image path in two parts is refused (or, with
``skip_duplicates``, kept from the first part that has it and counted).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dshgan.collection.fingerprint import check_same_model
from dshgan.collection.image_index import ImageIndex


@dataclass
class MergeReport:
    index: ImageIndex
    parts: int
    duplicates: list[str]  # paths left out because an earlier part holds them


def merge_indexes(parts: Sequence[str | os.PathLike], out: str | os.PathLike | None = None,
                  skip_duplicates: bool = False) -> MergeReport:
    """Merge the index files ``parts`` (in order) and save the result to ``out`` if given."""
    if not parts:
        raise ValueError("give at least one index file to merge")
    loaded = [ImageIndex.load(p) for p in parts]
    first = loaded[0]
    for index in loaded[1:]:
        try:
            check_same_model(first.fingerprint, index.fingerprint, f"index {first.file}")
        except ValueError as err:
            raise ValueError(f"cannot merge {index.file} with {first.file}: {err}") from None
    root = os.path.commonpath([index.root for index in loaded])
    sources = {index.label_source for index in loaded}
    merged = ImageIndex(first.fingerprint, root, run_dir=first.run_dir,
                        label_source=sources.pop() if len(sources) == 1 else None)
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for index in loaded:
        paths = [merged.stored_path(index.full_path(p)) for p in index.paths]
        clash = [p for p in paths if p in seen]
        if clash and not skip_duplicates:
            raise ValueError(
                f"{len(clash)} image(s) of {index.file} are already in {seen[clash[0]]}, e.g. "
                f"{clash[:3]}: merge parts that do not overlap, or pass --skip-duplicates to keep "
                "the first copy")
        keep = np.array([p not in seen for p in paths], bool)  # a part holds no path twice
        duplicates += [p for p, k in zip(paths, keep) if not k]
        rows = np.flatnonzero(keep)
        labels = index.labels
        merged.add_codes(index.codes_index.codes()[rows], [paths[i] for i in rows],
                         index.digests[rows], [labels[i] for i in rows])
        seen.update((paths[i], index.file) for i in rows)
    if out is not None:
        merged.save(out)
    return MergeReport(merged, len(loaded), duplicates)

