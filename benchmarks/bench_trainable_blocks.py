"""What fine-tuning more of the backbone costs: seconds per training step of the Lite0 trunk.

Times forward + backward + an SGD step of the pretrained EfficientNet-Lite0 trunk alone (no
heads, no data loading) on random 32 px images upsampled inside the net, for several numbers of
trainable blocks, and prints each one's ratio to the first in the list (the reference, measured
in the same run). The ratio is what carries over to a stage-2 epoch; absolute seconds drift with
the machine. It also times the frozen part alone (stem and frozen blocks, forward only) and prints
its share of the step: what caching the frozen blocks' outputs could save at most.

    python benchmarks/bench_trainable_blocks.py --input-size 128 --batch 96 --blocks 8 12 16
"""

from __future__ import annotations

import argparse
import time

import torch

from dshgan.nets.efficientnet_lite import EfficientNetLite0


def seconds_per_step(trainable_blocks: int, input_size: int, batch: int, repeats: int) -> float:
    torch.manual_seed(0)
    net = EfficientNetLite0(
        pretrained=True, input_size=input_size, trainable_blocks=trainable_blocks
    )
    net.train()
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    images = torch.rand(batch, 3, 32, 32) * 2 - 1

    def step() -> None:
        resized = torch.nn.functional.interpolate(
            images, size=input_size, mode="bilinear", align_corners=False
        )
        loss = net(resized).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()  # warm-up: allocator and kernel selection
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def seconds_frozen_prefix(trainable_blocks: int, input_size: int, batch: int,
                          repeats: int) -> float:
    """Forward of the stem and the frozen blocks only (``forward_prefix``, what a cache saves)."""
    torch.manual_seed(0)
    trunk = EfficientNetLite0(
        pretrained=True, input_size=input_size, trainable_blocks=trainable_blocks
    ).train()
    images = torch.rand(batch, 3, 32, 32) * 2 - 1

    @torch.no_grad()
    def prefix() -> None:
        trunk.forward_prefix(torch.nn.functional.interpolate(
            images, size=input_size, mode="bilinear", align_corners=False
        ))

    prefix()
    start = time.perf_counter()
    for _ in range(repeats):
        prefix()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=96, help="images per step (32 triplets = 96)")
    parser.add_argument("--blocks", type=int, nargs="+", default=[8, 12, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reference = None
    print(f"| trainable blocks | s / step ({args.batch} images, {args.input_size} px) | ratio "
          "| frozen part's forward, s | its share of the step |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for blocks in args.blocks:
        seconds = seconds_per_step(blocks, args.input_size, args.batch, args.repeats)
        frozen = seconds_frozen_prefix(blocks, args.input_size, args.batch, args.repeats)
        reference = reference or seconds
        print(f"| {blocks} | {seconds:.2f} | {seconds / reference:.2f} | {frozen:.2f} "
              f"| {frozen / seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
