"""Sharded builds: shards are contiguous runs of whole chunks covering the list once; two
torchrun ranks write the very file one process writes (byte for byte); `--shard R/N` parts
merged equal the whole; merge refuses another model, another code length and overlapping parts
(or keeps the first copy with --skip-duplicates); a stopped shard resumes from its own chunks."""

import os

import numpy as np
import pytest

from dshgan.cli import main
from dshgan.collection import ImageIndex
from dshgan.collection.merge import merge_indexes
from dshgan.collection.shards import parse_shard, shard_range


@pytest.mark.parametrize("n, chunk, size", [(24, 5, 2), (24, 5, 7), (1, 4, 3), (100, 10, 3),
                                            (4096, 4096, 2), (10, 1, 10)])
def test_shards_are_whole_chunks_covering_the_list_once(n, chunk, size):
    ranges = [shard_range(n, chunk, r, size) for r in range(size)]
    covered = [i for lo, hi in ranges for i in range(lo, hi)]
    assert covered == list(range(n))  # contiguous, in rank order, each file once
    for lo, hi in ranges:
        assert lo % chunk == 0 and (hi % chunk == 0 or hi == n)
    sizes = [-(-(hi - lo) // chunk) for lo, hi in ranges]  # chunks per shard
    assert max(sizes) - min(sizes) <= 1


def test_parse_shard():
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def build(capsys, run_dir, images, out, *extra):
    code = main(["index", "build", str(run_dir), "--images", str(images), "--out", str(out),
                 "--chunk", "5", "--workers", "0", "--no-progress", *map(str, extra)])
    out_text, err = capsys.readouterr()
    assert code == 0, err
    return out_text


def test_two_torchrun_ranks_write_the_one_process_index(run_dir, images, tmp_path, capsys,
                                                        torchrun_two_ranks):
    (images / "owl" / "06.png").write_bytes(b"not a png")  # a bad image in rank 1's shard
    one = tmp_path / "one.index"
    build(capsys, run_dir, images, one)
    outs = [tmp_path / f"attempt{a}" / "two.index" for a in range(2)]  # fresh per attempt
    for out in outs:
        out.parent.mkdir()
    done = torchrun_two_ranks(lambda attempt: [
        "-m", "dshgan", "index", "build", str(run_dir), "--images", str(images), "--out",
        str(outs[attempt]), "--chunk", "5", "--workers", "0", "--no-progress", "--device",
        "cpu"], 120)
    assert done.returncode == 0, done.stderr[:2000] + "\n...\n" + done.stderr[-2000:]
    two = next(out for out in reversed(outs) if out.exists())
    assert "indexed 23 images" in done.stdout and "of this rank's shard" in done.stdout
    assert two.read_bytes() == one.read_bytes()
    assert (two.parent / "two.index.bad_images.txt").read_text().startswith("owl/06.png\t")
    assert not list(two.parent.glob("*.partial"))  # every rank dropped its chunks


@pytest.fixture
def whole_and_parts(run_dir, images, tmp_path, capsys):
    whole = tmp_path / "whole.index"
    build(capsys, run_dir, images, whole)
    parts = []
    for r in range(2):
        part = tmp_path / f"part{r}.index"
        out = build(capsys, run_dir, images, part, "--shard", f"{r}/2")
        parts.append(part)
        assert f"{len(ImageIndex.load(part))} images" in out
    return whole, parts


def test_merged_shards_equal_the_whole(whole_and_parts, tmp_path, capsys):
    whole, parts = whole_and_parts
    assert 0 < len(ImageIndex.load(parts[0])) < 24
    merged = tmp_path / "merged.index"
    assert main(["index", "merge", *map(str, parts), "--out", str(merged)]) == 0
    assert "merged 2 parts" in capsys.readouterr().out
    a, b = ImageIndex.load(merged), ImageIndex.load(whole)
    assert a.paths == b.paths and a.labels == b.labels and a.root == b.root
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.codes_index.codes(), b.codes_index.codes())
    np.testing.assert_array_equal(a.digests, b.digests)
    assert a.fingerprint == b.fingerprint and a.label_source == b.label_source


def test_merge_reroots_parts_of_other_folders(run_dir, tmp_path, helpers, capsys):
    helpers.write_tree(tmp_path / "photos" / "a", classes=("cat",), per_class=3, seed=1)
    helpers.write_tree(tmp_path / "photos" / "b", classes=("cat",), per_class=2, seed=2)
    parts = [tmp_path / "a.index", tmp_path / "b.index"]
    for folder, part in zip("ab", parts):
        build(capsys, run_dir, tmp_path / "photos" / folder, part)
    report = merge_indexes(parts, tmp_path / "ab.index")
    assert report.index.root == str(tmp_path / "photos")
    assert report.index.paths == ["a/cat/00.png", "a/cat/01.png", "a/cat/02.jpg",
                                  "b/cat/00.png", "b/cat/01.png"]
    assert report.index.labels == [["cat"]] * 5
    assert report.index.ids.tolist() == list(range(5))


def test_merge_refuses_other_models_bits_and_overlaps(whole_and_parts, run_dir, other_run,
                                                      images, tmp_path, capsys):
    whole, parts = whole_and_parts
    other = tmp_path / "other.index"
    build(capsys, other_run, images, other, "--shard", "1/2")
    with pytest.raises(ValueError, match="cannot merge .*another model"):
        merge_indexes([parts[0], other])
    short = tmp_path / "short.index"
    build(capsys, run_dir, images, short, "--bits", "12", "--shard", "1/2")
    code = main(["index", "merge", str(parts[0]), str(short), "--out", str(tmp_path / "x")])
    assert code == 2 and "12-bit" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    code = main(["index", "merge", str(whole), str(parts[1]), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "already in" in err and "--skip-duplicates" in err
    report = merge_indexes([parts[1], whole], skip_duplicates=True)
    assert len(report.index) == 24 and len(report.duplicates) == len(ImageIndex.load(parts[1]))
    assert set(report.index.paths) == set(ImageIndex.load(whole).paths)


def test_a_stopped_shard_resumes_from_its_own_chunks(run_dir, images, tmp_path):
    from dshgan.collection import Encoder, build_index
    from dshgan.collection.shards import shard_folder

    encoder = Encoder.from_run(run_dir, device="cpu")
    options = {"chunk": 5, "progress": False, "workers": 0, "encoder": encoder,
               "shard": (1, 2)}
    whole = build_index(None, images, tmp_path / "whole.index", **options)

    class Stop(Exception):
        pass

    def stop(i, n):
        raise Stop

    out = tmp_path / "part.index"
    with pytest.raises(Stop):
        build_index(None, images, out, after_chunk=stop, **options)
    assert os.path.isdir(shard_folder(str(out), 1, 2)) and not out.exists()
    again = build_index(None, images, out, **options)
    assert (again.resumed_chunks, again.chunks, again.listed) == (1, 3, 14)
    assert not os.path.exists(shard_folder(str(out), 1, 2))
    assert out.read_bytes() == (tmp_path / "whole.index").read_bytes()
    assert ImageIndex.load(out).paths == whole.index.paths
