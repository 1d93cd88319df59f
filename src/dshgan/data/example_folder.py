"""A folder laid out as a user's collection would be, made from the bundled sample.

Why: the README's "Your own images" walk-through must run from a fresh clone, with no download,
on the layout it teaches: ``labelled/<class>/<image>`` for the few labelled photos beside
``unlabelled/**/<image>`` for the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

from dshgan.data.errors import DataError
from dshgan.data.sample import load_sample
from dshgan.data.writers import encode_image
from dshgan.io_utils import atomic_dir


def write_example_folder(out: str | os.PathLike, labelled_per_class: int = 30) -> Path:
    """The sample's first ``labelled_per_class`` images of each class under ``labelled/``, the
    other images under ``unlabelled/batch-N/`` (JPEG, as photos come)."""
    if labelled_per_class < 1:
        raise DataError(f"labelled_per_class must be >= 1, got {labelled_per_class}")
    sample = load_sample()
    seen: dict[int, int] = {}
    with atomic_dir(out) as tmp:
        for i, (image, c) in enumerate(zip(sample.images, sample.class_ids)):
            seen[int(c)] = k = seen.get(int(c), 0) + 1
            if k <= labelled_per_class:
                rel = Path("labelled") / sample.class_names[c] / f"{i:05d}.jpg"
            else:
                rel = Path("unlabelled") / f"batch-{i % 4}" / f"{i:05d}.jpg"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(encode_image(image, "jpeg"))
    return Path(out)
