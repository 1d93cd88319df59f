"""What the cached frozen part saves in stage 2's per-epoch validation pass.

Stage 2 encodes the validation images and the labelled training images after every epoch. They
are not augmented, so the output of the trunk's frozen part (stem and frozen blocks) is computed
once and each epoch runs only the rest (``encode_prefixes``). This times one pass both ways on
the same random 32 px images with the pretrained Lite0 hashing net, checks the codes are
identical, and prints the cached pass's ratio to the uncached one (the reference, measured in the
same run), plus the one-off cost of computing the frozen part.

    python benchmarks/bench_validation_pass.py --input-size 128 --images 1024
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dshgan.nets import HashingNet
from dshgan.train.encoding import encode_images, encode_prefixes
from dshgan.train.prefix_cache import CachedViews

CPU = torch.device("cpu")


def timed(fn, repeats: int):
    result = fn()  # warm-up: allocator and kernel selection
    start = time.perf_counter()
    for _ in range(repeats):
        result = fn()
    return result, (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--trainable-blocks", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = HashingNet("efficientnet-lite0", [12, 24, 32, 48], 10, backbone_kwargs={
        "pretrained": True, "input_size": args.input_size,
        "trainable_blocks": args.trainable_blocks})
    images = np.random.default_rng(0).integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)

    plain, uncached = timed(lambda: encode_images(net, images, CPU), args.repeats)
    start = time.perf_counter()  # after the warm-up above
    prefixes = CachedViews.build(net, images, 1, lambda x, _: x, torch.Generator(), CPU,
                                 batch_size=256).maps[0]
    build = time.perf_counter() - start
    cached_codes, cached = timed(lambda: encode_prefixes(net, prefixes), args.repeats)
    same = all(np.array_equal(plain[b], cached_codes[b]) for b in plain)
    print(f"| {args.images} images, {args.input_size} px, {args.trainable_blocks} trainable blocks "
          "| s / pass | ratio to uncached |")
    print("| :--- | ---: | ---: |")
    print(f"| uncached (`encode_images`) | {uncached:.2f} | 1.00 |")
    print(f"| cached (`encode_prefixes`) | {cached:.2f} | {cached / uncached:.2f} |")
    print(f"| computing the frozen part once | {build:.2f} | {build / uncached:.2f} |")
    print(f"codes identical: {same}; cache size {prefixes.numel() * 4 / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
