import os
import stat

import numpy as np
import pytest

from dshgan.io_utils import atomic_write_bytes, atomic_write_text
from dshgan.report.plots import plot_pr_curves
from dshgan.report.tables import write_csv, write_json


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_writers_replace_and_leave_no_temp_files(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new ± –")
    assert target.read_text(encoding="utf-8") == "new ± –"
    write_json({"a": np.float32(1)}, tmp_path / "m.json")
    write_csv({"m": {12: 0.1}}, [12], tmp_path / "t.csv")
    plot_pr_curves({"m": (np.array([1.0, 0.5]), np.array([0.0, 1.0]))}, tmp_path / "p.png", dpi=40)
    assert _leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "out.txt", "p.png", "t.csv"]


def test_failed_write_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "report.md"
    atomic_write_text(target, "old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_failed_json_conversion_writes_nothing(tmp_path):
    with pytest.raises(TypeError):
        write_json({"x": object()}, tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []


def test_mode_follows_umask_not_private(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_bytes(tmp_path / "a.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_bad_input(tmp_path):
    with pytest.raises(TypeError):
        atomic_write_bytes(tmp_path / "a", "text")
    with pytest.raises(TypeError):
        atomic_write_text(tmp_path / "a", b"bytes")
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path, "x")
