"""The bundled CIFAR-10 sample: the one dataset the package ships (see sample/README.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from dshgan.data.dataset import ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.sources.archive import read_image_archive

SAMPLE_NAME = "cifar10-sample.tar.gz"


@contextlib.contextmanager
def sample_path() -> Iterator[Path]:
    """A real file path to the bundled archive (valid inside the ``with`` block)."""
    ref = resources.files("dshgan.data").joinpath("sample", SAMPLE_NAME)
    if not ref.is_file():
        raise DataError(f"the bundled sample {SAMPLE_NAME} is missing from this installation "
                        "(rebuild it with scripts/build_sample.py)")
    with resources.as_file(ref) as path:
        yield Path(path)


def load_sample(image_size: int | tuple[int, int] | None = None) -> ImageDataset:
    """The bundled sample as an ImageDataset: 10 CIFAR-10 classes, 32x32 unless resized."""
    with sample_path() as path:
        return read_image_archive(path, image_size)
