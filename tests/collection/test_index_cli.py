"""End to end through the command line: dry-run train (the session's run), index build, search
an indexed image (first, distance 0), --json, info, add, remove; every error is one
`dshgan: error:` line with exit code 2."""

import json

import pytest

from dshgan import index_cli
from dshgan.cli import main
from dshgan.collection import build, files


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_constants_match_the_library():
    assert index_cli.DEFAULT_CHUNK == build.DEFAULT_CHUNK
    assert index_cli.LABEL_MODES == files.LABEL_MODES


@pytest.fixture
def built(run_dir, images, tmp_path, capsys):
    out = tmp_path / "my.index"
    code, stdout, _ = run(capsys, "index", "build", run_dir, "--images", images, "--bits", 48,
                          "--out", out, "--chunk", 10, "--workers", 0, "--no-progress")
    assert code == 0 and "indexed 24 images (48-bit codes)" in stdout
    return out


def test_build_search_info_add_remove(built, images, capsys, tmp_path, helpers):
    query = images / "dog" / "03.png"
    code, out, _ = run(capsys, "search", built, query, images / "cat" / "00.png", "-k", 4)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"query {query}: 4 results"
    assert lines[2].split() == ["1", "0", "dog/03.png", "dog", "(same", "file)"]
    code, out, _ = run(capsys, "search", built, query, "-k", 3, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["bits"] == 48 and doc["k"] == 3
    first = doc["queries"][0]["results"][0]
    assert (first["rank"], first["path"], first["distance"], first["labels"]) == \
        (1, "dog/03.png", 0, ["dog"])
    assert len(doc["queries"][0]["results"]) == 3
    code, out, _ = run(capsys, "search", built, query, "--radius", 0, "-k", 100, "--json")
    results = json.loads(out)["queries"][0]["results"]
    assert results and all(r["distance"] == 0 for r in results)

    code, out, _ = run(capsys, "index", "info", built)
    assert code == 0 and "images   24" in out and "cat 8, dog 8, owl 8" in out
    code, out, _ = run(capsys, "index", "info", built, "--json")
    assert json.loads(out)["images"] == 24

    helpers.write_tree(images / "new", classes=("bee",), per_class=2, seed=3)
    code, out, _ = run(capsys, "index", "add", built, "--images", images / "new",
                       "--workers", 0, "--no-progress")
    assert code == 0 and "added 2 images" in out and "now holds 26 images" in out
    code, out, _ = run(capsys, "index", "remove", built, "--paths", "dog/03.png",
                       "new/bee/01.png")
    assert code == 0 and "removed 2 images" in out
    code, out, _ = run(capsys, "search", built, query, "-k", 30, "--json")
    paths = [r["path"] for r in json.loads(out)["queries"][0]["results"]]
    assert len(paths) == 24 and "dog/03.png" not in paths and "new/bee/00.png" in paths


def test_errors_are_one_line_with_exit_code_2(built, images, capsys, tmp_path, other_run):
    query = images / "cat" / "00.png"
    (tmp_path / "notes.txt").write_text("hello")
    cut = tmp_path / "cut.index"
    cut.write_bytes(built.read_bytes()[:-5])
    cases = [
        (["search", tmp_path / "missing.index", query], "missing.index not found"),
        (["search", tmp_path / "notes.txt", query], "notes.txt is not a dshgan index"),
        (["search", cut, query], "cut.index is truncated"),
        (["search", built, query, "-k", 0], "-k must be >= 1"),
        (["search", built, query, "--radius", -2], "--radius must be >= 0"),
        (["search", built, tmp_path / "nope.png"], "nope.png"),
        (["search", built, query, "--run", other_run], "another model"),
        (["index", "add", built, "--images", images, "--run", other_run], "another model"),
        (["index", "remove", built, "--paths", "zebra.png"], "zebra.png"),
        (["index", "build", other_run, "--images", images, "--bits", 20, "--out",
          tmp_path / "b.index"], "no 20-bit codes"),
        (["index", "build", tmp_path, "--images", images, "--out", tmp_path / "b.index"],
         "model.pt"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert err.startswith("dshgan: error: ") and message in err, (argv, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_run_moved_away(built, images, capsys, run_dir, tmp_path):
    moved = tmp_path / "moved"
    run_dir.rename(moved)
    try:
        code, _, err = run(capsys, "search", built, images / "cat" / "00.png")
        assert code == 2 and "is not there any more: give it with --run" in err
        code, out, _ = run(capsys, "search", built, images / "cat" / "00.png", "--run", moved,
                           "-k", 1)
        assert code == 0 and "cat/00.png" in out  # a moved run is the same model
    finally:
        moved.rename(run_dir)
