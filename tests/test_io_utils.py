import os
import stat

import pytest

from dshgan.io_utils import atomic_dir, atomic_file, atomic_write_text


def test_atomic_file_replaces_only_on_success(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_file(target, "w") as fh:
        fh.write("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["f.txt"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_atomic_dir(tmp_path):
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "d") as d:
        (d / "x").write_text("1")
        raise RuntimeError("crash")
    assert os.listdir(tmp_path) == []
    with atomic_dir(tmp_path / "d") as d:
        (d / "x").write_text("1")
    assert (tmp_path / "d" / "x").read_text() == "1"
    with pytest.raises(FileExistsError, match="not an empty folder"), atomic_dir(tmp_path / "d"):
        pass
    (tmp_path / "e").mkdir()
    with atomic_dir(tmp_path / "e") as d:  # an empty folder may be filled
        (d / "y").write_text("2")
    assert (tmp_path / "e" / "y").is_file()
