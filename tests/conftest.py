"""Shared fixtures: small toy datasets and the same data written in the on-disk formats, and
a launcher of two torchrun ranks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable

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


def _killed_by_a_signal(stderr: str) -> bool:
    """torchrun's summary names a rank's exit code; a negative one is a signal (a crash in
    native code, as SIGABRT), a positive one our own Python failing."""
    return re.search(r"exitcode\s*:\s*-\d+", stderr) is not None


def launch_two_ranks(arguments: Callable[[int], list[str]], timeout: int
                     ) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node 2`` with ``arguments(attempt)``, one thread a
    rank, each rank dumping every thread's Python stack if it crashes (PYTHONFAULTHANDLER).

    Why one more attempt when a rank died of a signal, and only then: gloo's teardown has once
    aborted a rank ("terminate called without an active exception") after the work was done,
    on a CI machine, once in many runs, never here in a loop of 12. A Python error or a failed
    check in a rank exits 1 and fails at once; a crash twice in a row fails too. The first
    crash's output is kept as a warning, so it is seen in the summary and can be studied."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    for attempt in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
             "2", *arguments(attempt)], env=env, capture_output=True, text=True,
            timeout=timeout, check=False)
        if done.returncode == 0 or attempt == 1 or not _killed_by_a_signal(done.stderr):
            return done
        warnings.warn(f"a torchrun rank crashed; launching again. Its output:\n"
                      f"{done.stderr[:3000]}\n...\n{done.stderr[-1500:]}", stacklevel=2)
    return done


@pytest.fixture(scope="session")
def torchrun_two_ranks() -> Callable[[Callable[[int], list[str]], int],
                                     subprocess.CompletedProcess]:
    """``launch_two_ranks``, for tests that start two torchrun ranks."""
    return launch_two_ranks
