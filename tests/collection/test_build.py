"""build_index / add_images: the index equals a naive per-file encoding; a build stopped after
any chunk and rerun equals an uninterrupted one; bad images are skipped and listed (or stop the
build, naming the file); symbolic links are followed; another model is refused."""

import os

import numpy as np
import pytest

from dshgan.collection import Encoder, ImageIndex, add_images, build_index, list_images
from dshgan.collection.build import bad_images_file, partial_folder


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def encoder(run_dir):
    return Encoder.from_run(run_dir, device="cpu")


def build(encoder, images, out, **kwargs):
    kwargs.setdefault("workers", 0)
    return build_index(None, images, out, chunk=5, progress=False, encoder=encoder, **kwargs)


def same_index(a: ImageIndex, b: ImageIndex) -> None:
    assert a.paths == b.paths and a.labels == b.labels
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.codes_index.codes(), b.codes_index.codes())
    np.testing.assert_array_equal(a.digests, b.digests)
    assert a.fingerprint == b.fingerprint and a.root == b.root


def test_build_equals_naive_encoding_and_skips_bad_images(encoder, images, tmp_path):
    jpeg = images / "dog" / "05.jpg"
    jpeg.write_bytes(jpeg.read_bytes()[:200])  # a truncated JPEG
    (images / "readme.txt").write_text("not an image")
    out = tmp_path / "out" / "photos.index"
    report = build(encoder, images, out, workers=2)  # decoded in worker processes
    assert (report.listed, report.added, report.chunks) == (24, 23, 5)
    assert [p for p, _ in report.bad] == ["dog/05.jpg"]
    lines = bad_images_file(out).read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dog/05.jpg\t") and "05.jpg" in lines[0]
    assert not partial_folder(out).exists()
    index = ImageIndex.load(out)
    good = [f for f in list_images(images) if f != "dog/05.jpg"]
    assert index.paths == good and index.ids.tolist() == list(range(23))
    np.testing.assert_array_equal(index.codes_index.codes(),
                                  encoder.encode([images / f for f in good]))
    assert index.labels == [[f.split("/")[0]] for f in good]
    assert index.run_dir == str(encoder.run_dir) and index.fingerprint == encoder.fingerprint
    # every indexed image, searched for, comes back first at distance 0, ties or not
    hits = index.search([images / f for f in good], k=3)
    assert [rows[0].path for rows in hits] == good
    assert all(rows[0].distance == 0 and rows[0].same_file for rows in hits)
    assert sum(rows[1].distance == 0 for rows in hits) > 10  # the tie rule was needed


@pytest.mark.parametrize("stops", [[0], [2, 4], [0, 1, 2, 3, 4]])
def test_killed_and_resumed_build_equals_uninterrupted(encoder, images, tmp_path, stops):
    (images / "owl" / "04.png").write_bytes(b"\x89PNG broken")  # a bad image in chunk 4
    whole = tmp_path / "whole.index"
    build(encoder, images, whole)
    out = tmp_path / "resumed.index"
    finished = []
    for stop in stops:  # each run dies right after chunk `stop` is on disk
        def hook(i, n, stop=stop):
            finished.append(i)
            if i == stop:
                raise Stop
        with pytest.raises(Stop):
            build(encoder, images, out, after_chunk=hook)
        assert not out.exists() and partial_folder(out).is_dir()
    report = build(encoder, images, out, after_chunk=lambda i, n: finished.append(i))
    assert sorted(finished) == list(range(5))  # no chunk encoded twice, none skipped
    assert report.resumed_chunks == max(stops) + 1 and report.chunks == 5
    same_index(ImageIndex.load(out), ImageIndex.load(whole))
    assert [p for p, _ in report.bad] == ["owl/04.png"]
    assert not partial_folder(out).exists()


def test_changed_folder_or_damaged_chunk_is_redone(encoder, images, tmp_path, helpers):
    out = tmp_path / "x.index"
    with pytest.raises(Stop):
        build(encoder, images, out, after_chunk=lambda i, n: (_ for _ in ()).throw(Stop))
    helpers.draw(99).save(images / "cat" / "new.png")  # the folder changed meanwhile
    report = build(encoder, images, out)
    assert report.resumed_chunks == 0 and len(report.index) == 25
    with pytest.raises(Stop):
        build(encoder, images, tmp_path / "y.index",
              after_chunk=lambda i, n: None if i < 2 else (_ for _ in ()).throw(Stop))
    (partial_folder(tmp_path / "y.index") / "chunk-000001.npz").write_bytes(b"damaged")
    report = build(encoder, images, tmp_path / "y.index")
    assert report.resumed_chunks == 2  # chunks 0 and 2; chunk 1 encoded again
    same_index(ImageIndex.load(tmp_path / "y.index"), ImageIndex.load(out))


def test_on_bad_image_fail_names_the_file(encoder, images, tmp_path):
    (images / "owl" / "01.jpg").write_bytes(b"\xff\xd8\xff truncated")
    out = tmp_path / "f.index"
    with pytest.raises(ValueError, match=r"owl/01\.jpg.*--on-bad-image skip"):
        build(encoder, images, out, on_bad_image="fail")
    assert not out.exists()
    assert len(list(partial_folder(out).glob("chunk-*.npz"))) == 3  # kept for a rerun


def test_symlinked_folders_are_followed(encoder, images, tmp_path, helpers):
    extra = helpers.write_tree(tmp_path / "elsewhere", classes=("fox",), per_class=3, seed=5)
    os.symlink(extra / "fox", images / "fox")
    report = build(encoder, images, tmp_path / "l.index")
    assert [p for p in report.index.paths if p.startswith("fox/")] == \
        ["fox/00.png", "fox/01.png", "fox/02.jpg"]
    hit = report.index.search([extra / "fox" / "02.jpg"], k=1)[0][0]
    assert (hit.path, hit.distance, hit.labels) == ("fox/02.jpg", 0, ["fox"])


def test_add_images_and_other_model_refused(encoder, images, tmp_path, helpers, other_run):
    out = tmp_path / "a.index"
    build(encoder, images, out)
    more = helpers.write_tree(images / "more", classes=("bat", "emu"), per_class=2, seed=9)
    (more / "emu" / "bad.png").write_bytes(b"nope")
    report = add_images(out, more, chunk=3, progress=False, workers=0)
    assert (report.added, report.skipped_present, len(report.index)) == (4, 0, 28)
    index = ImageIndex.load(out)
    assert index.paths[-4:] == ["more/bat/00.png", "more/bat/01.png", "more/emu/00.png",
                                "more/emu/01.png"]
    assert index.labels[-3:] == [["bat"], ["emu"], ["emu"]]  # the parent folder, as built
    assert index.ids[-4:].tolist() == [24, 25, 26, 27]
    assert bad_images_file(out).read_text().startswith("more/emu/bad.png\t")
    again = add_images(out, images, progress=False, workers=0)  # all there already
    assert (again.added, again.skipped_present) == (0, 28)
    with pytest.raises(ValueError, match="another model"):
        add_images(out, more, run_dir=other_run, progress=False, workers=0)
    short = tmp_path / "s.index"
    build_index(None, images, short, progress=False, workers=0,
                encoder=Encoder.from_run(encoder.run_dir, bits=12, device="cpu"))
    assert ImageIndex.load(short).bits == 12
    with pytest.raises(ValueError, match="holds 12-bit codes"):
        ImageIndex.load(short).use(encoder)
    assert len(ImageIndex.load(out)) == 28  # the refused add left the index alone


def test_empty_folder_and_bad_arguments(encoder, tmp_path, images):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        build(encoder, tmp_path / "empty", tmp_path / "e.index")
    with pytest.raises(ValueError, match="on_bad_image"):
        build(encoder, images, tmp_path / "e.index", on_bad_image="ignore")
    with pytest.raises(ValueError, match="chunk must be"):
        build_index(None, images, tmp_path / "e.index", chunk=0, encoder=encoder)
    with pytest.raises(ValueError, match="not 12"):
        build_index(None, images, tmp_path / "e.index", bits=12, encoder=encoder)


def test_labelled_beside_unlabelled_layout(encoder, tmp_path, helpers):
    root = tmp_path / "photos"
    helpers.write_tree(root / "labelled", classes=("cat", "dog"), per_class=2)
    helpers.write_tree(root / "unlabelled" / "trip", classes=("day1",), per_class=2, seed=4)
    index = build(encoder, root, tmp_path / "p.index").index
    assert dict(zip(index.paths, map(tuple, index.labels))) == {
        "labelled/cat/00.png": ("cat",), "labelled/cat/01.png": ("cat",),
        "labelled/dog/00.png": ("dog",), "labelled/dog/01.png": ("dog",),
        "unlabelled/trip/day1/00.png": (), "unlabelled/trip/day1/01.png": ()}
    assert index.info()["labels"] == {"cat": 2, "dog": 2} and index.info()["unlabelled"] == 2
