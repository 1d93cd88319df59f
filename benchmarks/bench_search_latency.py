"""One image query end to end against 1,000,000 indexed images: decode + encode + search.

    python benchmarks/bench_search_latency.py             # 1M codes, 50 queries, 2 threads
    python benchmarks/bench_search_latency.py --quick     # 100k codes, 20 queries
    python benchmarks/bench_search_latency.py --run RUN   # time a trained run instead

What is timed per query, as ``ImageIndex.search([path], k=10)`` does it: read the JPEG and hash
its bytes (sha1, for the tie rule), decode and resize it as training did, the hashing net's
forward pass on one image, the exact Hamming k-NN scan over every code, and the result rows.
Median and p95 over the queries (after 3 warm-up queries), with the split into stages timed
separately on the same queries. Target: under 50 ms on 2 cores.

The index holds random 48-bit codes with made-up paths (search time does not depend on what the
codes mean). Without ``--run``, the model is an untrained net of the shipped architectures with
random weights (speed does not depend on the weights): EfficientNet-Lite0 as the bundled
cifar10 config has it (32 px images, upsampled to 96 px in the net), and the demo's small CNN.
Loading the 1M-image index file (what each `dshgan search` call pays first) is timed apart.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import torch
from PIL import Image

from dshgan.collection import Encoder, ImageIndex
from dshgan.collection.files import file_digest
from dshgan.config import config_to_dict, load_config
from dshgan.data.images import decode_image
from dshgan.nets import HashingNet
from dshgan.train.encoding import encode_images

BITS = 48


def make_run(folder: Path, config_name: str, num_classes: int = 10) -> Path:
    """A run folder with a model.pt as ``dshgan train`` writes it, untrained weights."""
    config = load_config(config_name)
    h = config.hashing
    kwargs = dict(h.backbone_kwargs)
    if h.backbone == "efficientnet-lite0":
        kwargs["pretrained"] = False  # as load_trained_model builds it; weights come from here
    torch.manual_seed(0)
    net = HashingNet(h.backbone, list(h.bits), num_classes, backbone_kwargs=kwargs)
    size = config.data.image_size
    _calibrate_batch_norm(net, size)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"nets": [{"bits": net.bits, "state": net.state_dict()}], "generator": None,
                "config": config_to_dict(config),
                "class_names": [f"class_{i}" for i in range(num_classes)],
                "multi_label": False, "image_size": [size, size]}, folder / "model.pt")
    return folder


@torch.no_grad()
def _calibrate_batch_norm(net: HashingNet, size: int) -> None:
    """Batch-norm statistics from random images: untrained statistics squash every image's
    features together, so every image would get one code; with these, codes vary (which the
    resume benchmark's comparison needs), as a trained net's do."""
    x = torch.rand(128, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x[:, :, : size // 2] *= torch.rand(128, 1, 1, 1)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the one batch
    net.train()
    net(x)
    net.eval()


def random_index(encoder: Encoder, n: int, seed: int = 0) -> ImageIndex:
    rng = np.random.default_rng(seed)
    index = ImageIndex(encoder.fingerprint, "/photos", run_dir=encoder.run_dir,
                       label_source="folder")
    codes = rng.integers(0, 2, (n, encoder.bits), dtype=np.uint8)
    paths = [f"c{i % 100:02d}/{i:07d}.jpg" for i in range(n)]
    digests = np.frombuffer(rng.bytes(20 * n), "S20")
    index.add_codes(codes, paths, digests)
    return index


def query_files(folder: Path, count: int, seed: int = 1) -> list[Path]:
    """Photo-sized JPEGs (640x480, smooth gradients plus noise, quality 90)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:480, 0:640]
    out = []
    for i in range(count):
        base = np.stack([(xx * rng.uniform(0.1, 0.4) + yy * rng.uniform(0.1, 0.4)
                          + rng.uniform(0, 255)) % 256 for _ in range(3)], -1)
        img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        path = folder / f"q{i:03d}.jpg"
        Image.fromarray(img).save(path, quality=90)
        out.append(path)
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def time_model(name: str, run: Path, n: int, queries: list[Path], load_file: Path | None):
    encoder = Encoder.from_run(run, bits=BITS, device="cpu")
    t = time.perf_counter()
    index = random_index(encoder, n)
    build_s = time.perf_counter() - t
    if load_file is not None:
        index.save(load_file)
        t = time.perf_counter()
        index = ImageIndex.load(load_file)
        load_s = time.perf_counter() - t
    index.use(encoder)
    for q in queries[:3]:  # warm-up: numba kernels, torch's first-call allocations
        index.search([q], k=10)
    total, stages = [], {"read+sha1": [], "decode": [], "encode": [], "search": []}
    for q in queries[3:]:
        t0 = time.perf_counter()
        index.search([q], k=10)
        total.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        data = q.read_bytes()
        digest = hashlib.sha1(data).digest()
        t1 = time.perf_counter()
        image = decode_image(data, str(q), encoder.image_size)
        t2 = time.perf_counter()
        code = encode_images(encoder.net, image[None], encoder.device)[BITS]
        t3 = time.perf_counter()
        index.search_codes(code, k=10, digests=[digest])
        t4 = time.perf_counter()
        for key, a, b in (("read+sha1", t0, t1), ("decode", t1, t2), ("encode", t2, t3),
                          ("search", t3, t4)):
            stages[key].append(b - a)
    assert file_digest(queries[0]) == hashlib.sha1(queries[0].read_bytes()).digest()
    print(f"\n### {name}")
    print(f"model: {encoder.fingerprint['run']} (images at {encoder.image_size[0]} px)")
    print(f"index: {n:,} codes of {BITS} bits, made in {build_s:.1f} s"
          + (f"; file {load_file.stat().st_size / 2**20:.0f} MiB, loaded in {load_s:.2f} s"
             if load_file is not None else ""))
    # the minimum is what an idle machine gives; median and p95 include other jobs' share
    print("\n| stage | median ms | p95 ms | min ms |\n|---|---:|---:|---:|")
    for key, values in stages.items():
        print(f"| {key} | {pct(values, 50):.2f} | {pct(values, 95):.2f} | "
              f"{pct(values, 0):.2f} |")
    print(f"| **one query, end to end** (ImageIndex.search) | **{pct(total, 50):.2f}** | "
          f"**{pct(total, 95):.2f}** | **{pct(total, 0):.2f}** |")
    print(f"\nqueries timed: {len(total)}; end to end / 50 ms target: median "
          f"{pct(total, 50) / 50:.2f}, p95 {pct(total, 95) / 50:.2f}; search share of the "
          f"median: {statistics.median(stages['search']) / statistics.median(total):.2f}")
    return pct(total, 50), pct(total, 95), pct(total, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k codes, 20 queries")
    parser.add_argument("--codes", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--run", default=None, help="a trained run to time instead")
    parser.add_argument("--skip-load", action="store_true", help="do not time the file load")
    args = parser.parse_args()
    n = args.codes or (100_000 if args.quick else 1_000_000)
    nq = (args.queries or (20 if args.quick else 50)) + 3
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    print(f"# one image query against {n:,} codes")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores visible, "
          f"{args.threads} torch/numba threads; torch {torch.__version__}, "
          f"numba {numba.__version__}; timings on a machine shared with other jobs vary")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        queries = query_files(tmp, nq)
        load_file = None if args.skip_load else tmp / "big.index"
        if args.run:
            time_model(f"run {args.run}", Path(args.run), n, queries, load_file)
            return
        lite = make_run(tmp / "efficientnet-lite0-96px", "cifar10")
        small = make_run(tmp / "small-cnn-32px", "demo", num_classes=10)
        results = {
            "EfficientNet-Lite0 (cifar10 config: 32 px, 96 px in the net)":
                time_model("EfficientNet-Lite0", lite, n, queries, load_file),
            "small CNN (demo config, 32 px)":
                time_model("small CNN", small, n, queries, None),
        }
    print("\n## summary\n\n| model | median ms | p95 ms | min ms | p95 under 50 ms |\n"
          "|---|---:|---:|---:|---|")
    for name, (median, p95, best) in results.items():
        print(f"| {name} | {median:.1f} | {p95:.1f} | {best:.1f} | "
              f"{'yes' if p95 < 50 else 'no'} |")


if __name__ == "__main__":
    main()
