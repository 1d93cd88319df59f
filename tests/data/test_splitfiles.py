import json

import numpy as np
import pytest

from dshgan.data.dataset import ImageDataset
from dshgan.data.errors import DataError
from dshgan.data.protocols import make_split
from dshgan.data.sources import load_dataset, scan_dataset
from dshgan.data.splitfiles import prepare, read_split, write_split
from dshgan.data.writers import write_image_archive

PARTS = ("query", "train", "validation", "database", "unlabelled")


def _same(a, b):
    return all(np.array_equal(getattr(a, p), getattr(b, p)) for p in PARTS) and \
        (a.protocol, a.seed, a.topk) == (b.protocol, b.seed, b.topk)


@pytest.mark.parametrize("fixture", ["toy_dataset", "toy_multilabel_dataset"])
def test_round_trip(tmp_path, request, fixture):
    ds = request.getfixturevalue(fixture)
    split = make_split(ds, "toy", seed=4)
    out = write_split(split, ds, tmp_path / "split")
    assert sorted(p.name for p in out.iterdir()) == [
        "database.txt", "query.txt", "split.json", "train.txt", "unlabelled.names",
        "validation.txt"]
    assert _same(read_split(out, ds), split)
    meta = json.loads((out / "split.json").read_text())
    assert meta["protocol"] == "toy" and meta["seed"] == 4 and meta["topk"] is None
    assert meta["counts"] == split.counts() and meta["dataset"]["images"] == len(ds)
    assert meta["dataset"]["fingerprint"] == ds.fingerprint()
    first = (out / "query.txt").read_text().splitlines()[0].split()
    i = split.query[0]
    assert first == [ds.names[i], *map(str, ds.labels[i].tolist())]
    assert (out / "unlabelled.names").read_text().split() == [ds.names[i] for i in
                                                              split.unlabelled]


def test_read_refuses_another_dataset_and_tampering(tmp_path, toy_dataset):
    split = make_split(toy_dataset, "toy", seed=0)
    out = write_split(split, toy_dataset, tmp_path / "s")
    other = ImageDataset(toy_dataset.images, toy_dataset.labels, toy_dataset.class_names,
                         [n.replace(".png", ".jpg") for n in toy_dataset.names])
    with pytest.raises(DataError, match="made for another dataset"):
        read_split(out, other)
    lines = (out / "query.txt").read_text().splitlines()
    (out / "query.txt").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(DataError, match="query.txt lists 7 images but split.json says 8"):
        read_split(out, toy_dataset)
    (out / "query.txt").write_text("\n".join(["ghost.png 1 0 0 0", *lines[1:]]) + "\n")
    with pytest.raises(DataError, match="query.txt:1: 'ghost.png' is not in the dataset"):
        read_split(out, toy_dataset)
    name = lines[0].split()[0]
    (out / "query.txt").write_text("\n".join([f"{name} 0 0 0 1", *lines[1:]]) + "\n")
    with pytest.raises(DataError, match=f"query.txt:1: labels of '{name}' differ"):
        read_split(out, toy_dataset)
    (out / "split.json").unlink()
    with pytest.raises(DataError, match="split.json is missing"):
        read_split(out, toy_dataset)


def test_rewrite_replaces_and_leaves_no_temporaries(tmp_path, toy_dataset):
    out = tmp_path / "s"
    write_split(make_split(toy_dataset, "toy", seed=0), toy_dataset, out)
    second = make_split(toy_dataset, "toy", seed=1)
    write_split(second, toy_dataset, out)
    assert _same(read_split(out, toy_dataset), second)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_prepare_from_an_archive_without_decoding(tmp_path, toy_dataset):
    archive = write_image_archive(toy_dataset, tmp_path / "toy.tar.gz")
    split = prepare("toy", archive, tmp_path / "split", seed=2)
    ds = load_dataset(archive)
    assert _same(read_split(tmp_path / "split", ds), split)
    assert _same(split, make_split(ds, "toy", seed=2))
    with pytest.raises(ValueError, match="unknown protocol"):
        prepare("nope", archive, tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_split_folder_reads_back_as_a_list_dir(tmp_path, toy_dataset):
    out = write_split(make_split(toy_dataset, "toy", seed=0), toy_dataset, tmp_path / "s")
    cat = scan_dataset(None, list_dir=out)
    assert sorted(cat.names) == sorted(toy_dataset.names)
    assert cat.official_split is not None and set(cat.official_split) == {
        "database", "query", "train", "validation"}
