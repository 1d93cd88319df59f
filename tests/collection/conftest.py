"""A tiny trained run (dry-run, trained once per session), a copy of it with other weights, and
folders of small images drawn with PIL."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    from dshgan.cli import main

    run = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--config", "demo", "--dry-run", "--run-dir", str(run),
                 "--no-progress", "--set", "evaluation.baselines=[]"]) == 0
    return run


@pytest.fixture(scope="session")
def other_run(run_dir, tmp_path_factory) -> Path:
    """The same architecture and code lengths, one weight changed: another model."""
    other = tmp_path_factory.mktemp("runs") / "other"
    other.mkdir()
    state = torch.load(run_dir / "model.pt", weights_only=False)
    name, tensor = next(iter(state["nets"][0]["state"].items()))
    state["nets"][0]["state"][name] = tensor + 0.01
    torch.save(state, other / "model.pt")
    shutil.copy(run_dir / "config.yaml", other / "config.yaml")
    return other


def draw(seed: int, size=(24, 20)) -> Image.Image:
    """A small picture: a coloured background with a few coloured shapes (varied codes)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, tuple(int(x) for x in rng.integers(0, 256, 3)))
    pen = ImageDraw.Draw(img)
    for _ in range(3):
        x0, y0 = rng.integers(0, size[0] - 4), rng.integers(0, size[1] - 4)
        x1, y1 = x0 + rng.integers(3, 12), y0 + rng.integers(3, 12)
        pen.rectangle([int(x0), int(y0), int(x1), int(y1)],
                      fill=tuple(int(x) for x in rng.integers(0, 256, 3)))
    return img


def write_tree(root: Path, classes=("cat", "dog", "owl"), per_class=8, seed=0) -> Path:
    """``<class>/<i>.png`` (and every third one as a JPEG) under ``root``."""
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            ext = "jpg" if i % 3 == 2 else "png"
            draw(seed * 1000 + c * 100 + i).save(root / name / f"{i:02d}.{ext}")
    return root


@pytest.fixture
def images(tmp_path) -> Path:
    """24 images in three class folders."""
    return write_tree(tmp_path / "images")


@pytest.fixture
def helpers():
    """Helpers for test modules (they cannot import conftest under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(draw=draw, write_tree=write_tree)
