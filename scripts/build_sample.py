"""Build the bundled CIFAR-10 sample shipped in src/dshgan/data/sample/.

Draws PER_CLASS images per class, with a recorded seed, from the train and test parts of the
CIFAR-10 JPEG archive together, and writes them, original JPEG bytes untouched, as
``<class>/<split>_<NNNN>.jpg`` into a reproducible .tar.gz (sorted members, zero mtimes and
owners, gzip mtime 0), plus the README that says how it was made.

    python scripts/build_sample.py ../shared/data/cifar10-jpg.tar.gz --per-class 300 --seed 0
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
import tarfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from dshgan.data.sources.archive import read_image_archive
from dshgan.data.sources.layout import split_parts, wanted_file
from dshgan.data.writers import add_bytes_to_tar
from dshgan.io_utils import atomic_file, atomic_write_text

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/dshgan/data/sample"
SAMPLE_NAME = "cifar10-sample.tar.gz"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(source: Path, out_dir: Path, per_class: int, seed: int) -> dict:
    by_class: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    with tarfile.open(source, mode="r|*") as tf:
        for info in tf:
            if info.isfile() and wanted_file(info.name):
                parts = split_parts(info.name)  # <split>/<class>/<image>
                if len(parts) != 3:
                    raise SystemExit(f"unexpected member {info.name!r}: want <split>/<class>/<img>")
                fh = tf.extractfile(info)
                assert fh is not None
                by_class[parts[1]].append((f"{parts[0]}_{parts[2]}", fh.read()))
    rng = np.random.default_rng(seed)
    members = []
    for cname in sorted(by_class):
        items = sorted(by_class[cname])
        if len(items) < per_class:
            raise SystemExit(f"class {cname} has only {len(items)} images, need {per_class}")
        for j in np.sort(rng.choice(len(items), size=per_class, replace=False)):
            name, data = items[j]
            members.append((f"{cname}/{name}", data))
    members.sort()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / SAMPLE_NAME
    with atomic_file(target) as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                   filename="") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            add_bytes_to_tar(tf, name, data)
    # Check: the reader sees every class with per_class images, bytes decode.
    ds = read_image_archive(target)
    counts = ds.labels.sum(axis=0)
    assert (counts == per_class).all(), counts
    stats = {"classes": ds.class_names, "per_class": per_class, "images": len(ds),
             "bytes": target.stat().st_size, "sha256": _sha256(target),
             "source_sha256": _sha256(source), "seed": seed,
             "from_train": sum(n.split("/")[1].startswith("train_") for n, _ in members),
             "from_test": sum(n.split("/")[1].startswith("test_") for n, _ in members)}
    atomic_write_text(out_dir / "README.md", _readme(stats))
    return stats


def _readme(s: dict) -> str:
    return f"""# Bundled CIFAR-10 sample

`{SAMPLE_NAME}`: {s['images']:,} CIFAR-10 images, {s['per_class']} per class for the 10 classes
({', '.join(s['classes'])}),
32x32 RGB JPEG, laid out `<class>/<split>_<NNNN>.jpg`, where `<split>_<NNNN>` is the image's
name in the source archive ({s['from_train']:,} come from `train/`, {s['from_test']:,} from `test/`).
The JPEG bytes are the source's own, not re-encoded. Size {s['bytes']:,} bytes, sha256 `{s['sha256']}`.

It is the data of `dshgan demo` and the `demo` protocol (20 queries and 60 labelled images per
class, the rest as database). Load it with `dshgan.data.load_sample()`.

## How it was built

    python scripts/build_sample.py ../shared/data/cifar10-jpg.tar.gz \\
        --per-class {s['per_class']} --seed {s['seed']}

Source: `cifar10-jpg.tar.gz` (all 60,000 CIFAR-10 images as JPEG, quality about 75, with the
official train/test split), sha256 `{s['source_sha256']}`. For each class, in sorted class order,
the script takes the class's 6,000 images (train and test together) sorted by name and draws
{s['per_class']} without replacement with `numpy.random.default_rng({s['seed']})`. The archive is
reproducible: sorted members, zero mtimes and owners, gzip header mtime 0.

## Licence

CIFAR-10 is by Alex Krizhevsky, Vinod Nair and Geoffrey Hinton: A. Krizhevsky, "Learning Multiple
Layers of Features from Tiny Images", technical report, University of Toronto, 2009
(https://www.cs.toronto.edu/~kriz/cifar.html). The images are a subset of the 80 Million Tiny
Images collection, gathered from the web; they are redistributed here, as is common practice,
for research and testing only. Cite the report above when you use them.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="cifar10-jpg.tar.gz (<split>/<class>/<img>)")
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    stats = build(args.source, args.out_dir, args.per_class, args.seed)
    print(f"wrote {args.out_dir / SAMPLE_NAME}: {stats['images']} images, "
          f"{stats['bytes']:,} bytes, sha256 {stats['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
