"""The startup checks (missing, foreign or plain index files; a missing run; a run of another
model) and the answers: codes in hex, precision against a naive count, search by upload the same
with and without batching."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from dshgan.collection import ImageIndex, SearchResult
from dshgan.index import HammingIndex, IndexFileError
from dshgan.serve import ServeSettings
from dshgan.serve.engine import Engine, code_hex, precision
from dshgan.serve.sources import open_source


def test_open_index_checks_the_index_and_the_run(served, run_dir, other_run, tmp_path):
    index, run = open_source(ServeSettings(index=str(served)))
    assert len(index) == 24 and run == str(run_dir.resolve())
    with pytest.raises(FileNotFoundError, match="not found"):
        open_source(ServeSettings(index=str(tmp_path / "none.index")))
    (tmp_path / "foreign.index").write_bytes(b"PK\x03\x04 a zip file, not an index" * 10)
    with pytest.raises(IndexFileError):
        open_source(ServeSettings(index=str(tmp_path / "foreign.index")))
    plain = HammingIndex(16)
    plain.add(np.zeros((3, 16), np.uint8))
    plain.save(tmp_path / "plain.index")
    with pytest.raises(IndexFileError, match="binary codes only"):
        open_source(ServeSettings(index=str(tmp_path / "plain.index")))
    with pytest.raises(ValueError, match="another model"):
        open_source(ServeSettings(index=str(served), run=str(other_run)))
    with pytest.raises(FileNotFoundError, match="--run"):
        open_source(ServeSettings(index=str(served), run=str(tmp_path)))
    moved = tmp_path / "moved.index"  # the run the index recorded is gone
    shutil.copy(served, moved)
    index = ImageIndex.load(moved)
    index.run_dir = str(tmp_path / "deleted-run")
    index.save(moved)
    with pytest.raises(FileNotFoundError, match="deleted-run"):
        open_source(ServeSettings(index=str(moved)))
    assert open_source(ServeSettings(index=str(moved), run=str(run_dir)))[1] == str(run_dir)


def test_code_hex_packs_bits_most_significant_first():
    assert code_hex(np.array([1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1])) == "81f0"
    rng = np.random.default_rng(0)
    for bits in (12, 48, 64):
        code = rng.integers(0, 2, bits)
        assert int(code_hex(code), 16) >> (-bits % 8) == int("".join(map(str, code)), 2)


def result(id, labels):
    return SearchResult(rank=1, id=id, path=f"{id}.png", distance=0, labels=labels)


def test_precision_counts_shared_labels_without_the_query_item():
    rows = [result(5, ["cat"]), result(1, ["cat", "pet"]), result(2, ["dog"]),
            result(3, []), result(4, ["pet"])]
    assert precision(rows, ["cat"], 5) == 1 / 3  # item 3 has no label: it counts neither way
    assert precision(rows, ["cat", "pet"], 5) == 2 / 3
    assert precision(rows, ["cat"], None) == 2 / 4
    assert precision(rows, None, None) is None and precision(rows, [], 5) is None
    assert precision(rows[:1], ["cat"], 5) is None
    assert precision([rows[0], rows[3]], ["cat"], 5) is None


@pytest.fixture(scope="module")
def engines(served):
    batched = Engine.load(ServeSettings(index=str(served), device="cpu"))
    plain = Engine.load(ServeSettings(index=str(served), device="cpu", batching=False))
    yield batched, plain
    batched.close()
    plain.close()


def test_upload_search_is_the_same_batched_or_plain(engines, served, helpers):
    batched, plain = engines
    files = sorted((served.parent / "images").rglob("*.*"))[::5]
    for path in files:
        data = path.read_bytes()
        answers = []
        for engine in (batched, plain):
            code = engine.submit(data).result(timeout=30)
            answers.append(engine.search_upload_code(code, data, 7, None))
        (rows_a, query_a), (rows_b, query_b) = answers
        assert rows_a == rows_b and query_a == query_b
        assert query_a["sha1"] == hashlib.sha1(data).hexdigest()
        assert rows_a[0].path == path.relative_to(served.parent / "images").as_posix()
    assert batched.stats()["batching"]["enabled"] and not plain.stats()["batching"]["enabled"]
    assert plain.stats()["queries_served"] == len(files)
