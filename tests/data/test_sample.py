import hashlib
import importlib.util
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from dshgan.data.protocols import make_split
from dshgan.data.sample import SAMPLE_NAME, load_sample, sample_path
from dshgan.data.writers import write_image_archive

SAMPLE = Path(__file__).resolve().parents[2] / "src/dshgan/data/sample" / SAMPLE_NAME
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


@pytest.mark.skipif(not SAMPLE.is_file(), reason="bundled sample not built")
def test_bundled_sample_loads_with_its_class_counts():
    ds = load_sample()
    assert ds.class_names == CIFAR10_CLASSES and ds.images.shape == (3000, 32, 32, 3)
    assert ds.labels.sum(axis=0).tolist() == [300] * 10
    assert make_split(ds, "demo", seed=0).counts()["database"] == 2200
    assert load_sample(image_size=16).images.shape == (3000, 16, 16, 3)
    with sample_path() as path:
        size = path.stat().st_size
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert size <= 3 * 1024 * 1024
    readme = (path.parent / "README.md").read_text()
    assert digest in readme and "Krizhevsky" in readme


def _build_module():
    script = Path(__file__).resolve().parents[2] / "scripts/build_sample.py"
    spec = importlib.util.spec_from_file_location("build_sample", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_sample_script_is_reproducible_and_keeps_bytes(tmp_path, toy_split_dataset):
    source = write_image_archive(toy_split_dataset, tmp_path / "src.tar.gz", with_split=True,
                                 fmt="jpg")
    build = _build_module().build
    a = build(source, tmp_path / "a", per_class=5, seed=1)
    b = build(source, tmp_path / "b", per_class=5, seed=1)
    c = build(source, tmp_path / "c", per_class=5, seed=2)
    assert a["sha256"] == b["sha256"] != c["sha256"]
    assert a["images"] == 20 and a["from_train"] + a["from_test"] == 20
    originals = {}
    with tarfile.open(source) as tf:
        for m in tf.getmembers():
            if m.isfile():
                split, cname, image = m.name.split("/")
                originals[f"{cname}/{split}_{image}"] = tf.extractfile(m).read()
    with tarfile.open(tmp_path / "a" / SAMPLE_NAME) as tf:
        names = tf.getnames()
        assert names == sorted(names) and len(names) == 20
        for m in tf.getmembers():
            assert tf.extractfile(m).read() == originals[m.name]  # not re-encoded
            assert m.mtime == 0 and m.uid == 0
    readme = (tmp_path / "a" / "README.md").read_text()
    assert a["sha256"] in readme and re.search(r"--per-class 5 --seed 1", readme)
    with pytest.raises(SystemExit, match="need 50"):
        build(source, tmp_path / "d", per_class=50, seed=0)
    assert not np.any([p.suffix == ".tmp" for p in (tmp_path / "d").glob("*")])
