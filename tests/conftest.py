"""Shared fixtures: small toy datasets and the same data written in the on-disk formats."""

from __future__ import annotations

import numpy as np
import pytest

from dshgan.data.dataset import ImageDataset
from dshgan.data.toy import make_toy_dataset
from dshgan.data.writers import write_image_archive, write_image_folder


@pytest.fixture
def toy_dataset() -> ImageDataset:
    """Single-label, 4 classes x 12 images, 32x32, class-sorted."""
    return make_toy_dataset(n_per_class=12, num_classes=4, image_size=32, seed=0)


@pytest.fixture
def toy_multilabel_dataset() -> ImageDataset:
    """Multi-label, 48 images over 4 classes (1 to 3 labels each), 32x32."""
    return make_toy_dataset(n_per_class=12, num_classes=4, image_size=32, seed=0,
                            multi_label=True)


@pytest.fixture
def toy_split_dataset(toy_dataset) -> ImageDataset:
    """The toy dataset with an official split: every third image of a class is "test"."""
    split = np.where(np.arange(len(toy_dataset)) % 3 == 0, "test", "train")
    return ImageDataset(toy_dataset.images, toy_dataset.labels, toy_dataset.class_names,
                        toy_dataset.names, False, split)


@pytest.fixture
def tmp_image_folder(tmp_path, toy_dataset):
    """``toy_dataset`` written as ``<class>/<index>.png`` (lossless)."""
    return write_image_folder(toy_dataset, tmp_path / "images")


@pytest.fixture(params=["tar", "tar.gz", "zip"])
def tmp_image_archive(request, tmp_path, toy_dataset):
    """``toy_dataset`` as ``<class>/<index>.png`` in a .tar, .tar.gz and .zip archive."""
    return write_image_archive(toy_dataset, tmp_path / f"images.{request.param}")
