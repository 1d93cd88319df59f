"""What the memory layout (and bf16 autocast) buys the Lite0 trunk on this CPU.

Times a training step (forward + backward + SGD step, the stage-2 trunk setting: pretrained,
8 trainable blocks) and an inference pass (encoding the database) of EfficientNet-Lite0 on
random 32 px images upsampled inside the net, in NCHW (the reference, measured in the same run),
channels-last, and each with bf16 autocast, and prints every setting's ratio to the reference.
The ratio is what carries over to a stage-2 epoch; absolute seconds drift with the machine.

    python benchmarks/bench_memory_format.py --input-size 128 --batch 96
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from dshgan.nets.efficientnet_lite import EfficientNetLite0

SETTINGS = {  # name: (channels_last, bf16 autocast)
    "NCHW, fp32 (reference)": (False, False),
    "channels-last, fp32": (True, False),
    "NCHW, bf16 autocast": (False, True),
    "channels-last, bf16 autocast": (True, True),
}


def seconds_per_call(channels_last: bool, bf16: bool, train: bool, args) -> float:
    torch.manual_seed(0)
    net = EfficientNetLite0(
        pretrained=True, input_size=args.input_size, trainable_blocks=8,
        channels_last=channels_last,
    )
    net.train(train)
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    images = torch.rand(args.batch, 3, 32, 32) * 2 - 1

    def call() -> None:
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        grad = contextlib.nullcontext() if train else torch.no_grad()
        with grad, autocast:
            resized = torch.nn.functional.interpolate(
                images, size=args.input_size, mode="bilinear", align_corners=False
            )
            features = net(resized).float()
        if train:
            optimizer.zero_grad()
            features.pow(2).mean().backward()
            optimizer.step()

    call()  # warm-up: allocator and kernel selection
    start = time.perf_counter()
    for _ in range(args.repeats):
        call()
    return (time.perf_counter() - start) / args.repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=96, help="images per step (32 triplets = 96)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.batch} images at {args.input_size} px, {args.threads} thread(s)")
    print("| setting | train s / step | ratio | inference s / batch | ratio |")
    print("| :--- | ---: | ---: | ---: | ---: |")
    reference = None
    for name, (channels_last, bf16) in SETTINGS.items():
        train = seconds_per_call(channels_last, bf16, True, args)
        infer = seconds_per_call(channels_last, bf16, False, args)
        reference = reference or (train, infer)
        print(f"| {name} | {train:.2f} | {train / reference[0]:.2f} | {infer:.3f} | "
              f"{infer / reference[1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
