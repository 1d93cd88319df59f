"""Binary codes of images from a hashing net, and the reuse of its frozen part's outputs.

Why the reuse: with the first blocks of the pretrained trunk frozen, their output is a fixed
function of the image, and in inference at 128 px it is about three quarters of the forward pass
(``benchmarks/bench_validation_pass.py``). Images that are encoded again and again without
augmentation (stage 2's validation pass after every epoch; the database, once per row of the
reproduced table) need it computed once. The codes are the same, bit for bit: the frozen part runs
in the same batches either way.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from dshgan.image_tensors import to_tensor_images
from dshgan.nets.hashing_net import HashingNet
from dshgan.train.prefix_cache import CachedViews

BATCH_SIZE = 256  # the most images of one forward pass in inference
# ...and the most input pixels: 256 images at 32 px, 64 at 64 px, 16 at 128 px, 5 at 224 px.
# Why: a batch's largest activation then stays under 32 MB (at 128 px, 16 x 96 channels x 64 x
# 64 floats = 25 MB), which glibc serves from its heap under data/heap.py's settings instead of
# mapping fresh pages each time. Measured on 1,024 images at 128 px (2 cores, idle): 16 per
# batch with those settings 309 images/s in 442 MB, 64 per batch with glibc's defaults 100-104
# images/s in 592 MB (docs/experiments/2026-12-01-own-images-memory.md).
PIXELS_PER_BATCH = 16 * 128 * 128
MAX_CACHE_BYTES = 4 * 2**30  # beyond this, encode without reuse rather than hold the outputs


def encoding_batch_size(net: HashingNet) -> int:
    """Images per inference batch for ``net``: ``BATCH_SIZE``, fewer at large input sizes."""
    size = int(getattr(net.backbone, "input_size", 0) or 0)
    return max(1, min(BATCH_SIZE, PIXELS_PER_BATCH // (size * size))) if size else BATCH_SIZE


@torch.no_grad()
def encode_images(
    net: HashingNet, images: np.ndarray, device: torch.device, batch_size: int | None = None,
    progress: bool = False, desc: str = "encode", flip_average: bool = False,
) -> dict[int, np.ndarray]:
    """{0,1} uint8 codes of every code length the net has, for uint8 images (n, H, W, 3).

    ``flip_average`` thresholds the mean hash output of each image and its mirror image (a
    test-time augmentation, at twice the cost; measured to gain about 0.002 validation mAP,
    docs/experiments/2026-11-29-cifar10-plus-levers.md, "Flip-averaged codes"; so it is off everywhere by default).
    ``batch_size`` None: ``encoding_batch_size(net)``.
    """
    batch_size = batch_size or encoding_batch_size(net)

    def hashes():
        for start in tqdm(range(0, len(images), batch_size), desc=desc, disable=not progress):
            x = to_tensor_images(images[start:start + batch_size], device)
            out = net(x).hash
            if flip_average:
                mirrored = net(x.flip(3)).hash
                out = {b: (h + mirrored[b]) / 2 for b, h in out.items()}
            yield out

    return _threshold(net, hashes())


@torch.no_grad()
def encode_prefixes(net: HashingNet, prefixes: torch.Tensor, batch_size: int | None = None,
                    progress: bool = False, desc: str = "encode") -> dict[int, np.ndarray]:
    """``encode_images`` from the frozen part's outputs (``net.prefix`` of the images, computed
    in batches of the same size): the same codes, at about a quarter of the cost."""
    batch_size = batch_size or encoding_batch_size(net)
    return _threshold(net, (
        net.forward_from_prefix(prefixes[start:start + batch_size]).hash
        for start in tqdm(range(0, len(prefixes), batch_size), desc=desc, disable=not progress)))


def _threshold(net: HashingNet, hash_batches) -> dict[int, np.ndarray]:
    """Codes (hash output > 0.5) of every code length, with ``net`` in eval mode meanwhile."""
    was_training = net.training
    net.eval()
    out: dict[int, list[np.ndarray]] = {b: [] for b in net.bits}
    for hashes in hash_batches:  # evaluated lazily, so in eval mode
        for b, h in hashes.items():
            out[b].append((h > 0.5).to(torch.uint8).cpu().numpy())
    net.train(was_training)
    return {b: np.concatenate(v) if v else np.zeros((0, b), np.uint8) for b, v in out.items()}


class FrozenPartOutputs:
    """One fixed set of images, encoded by many nets that share a frozen part.

    The first net with a frozen part computes that part's outputs; every later net whose frozen
    weights and input size are exactly the same reuses them. Any other net (no frozen part, other
    frozen weights, for instance an average that rounded them) is encoded the plain way, as is
    every net when the outputs would pass ``max_bytes``.
    """

    def __init__(self, images: np.ndarray, max_bytes: int = MAX_CACHE_BYTES):
        self.images = images
        self.max_bytes = max_bytes
        self.outputs: torch.Tensor | None = None
        self._owner: tuple[int, dict[str, torch.Tensor]] | None = None  # input size, weights
        self._too_big = False

    def codes(self, net: HashingNet, device: torch.device, progress: bool = False,
              desc: str = "encode") -> dict[int, np.ndarray]:
        if self._reusable_for(net, device, progress):
            return encode_prefixes(net, self.outputs, progress=progress, desc=desc)
        return encode_images(net, self.images, device, progress=progress, desc=desc)

    def _reusable_for(self, net: HashingNet, device: torch.device, progress: bool) -> bool:
        if not net.has_frozen_part or self._too_big or not len(self.images):
            return False
        if self.outputs is None:
            if _bytes_per_image(net, self.images[:1], device) * len(self.images) > self.max_bytes:
                self._too_big = True
                return False
            self.outputs = CachedViews.build(net, self.images, 1, lambda x, _: x,
                                             torch.Generator(), device,
                                             batch_size=encoding_batch_size(net),
                                             progress=progress).maps[0]
            self._owner = (net.backbone.input_size, {  # copies: the net may change later
                k: v.detach().clone() for k, v in net.backbone.frozen_state().items()})
            return True
        size, weights = self._owner
        mine = net.backbone.frozen_state()
        return (net.backbone.input_size == size and mine.keys() == weights.keys()
                and all(torch.equal(mine[k], weights[k]) for k in mine))


@torch.no_grad()
def _bytes_per_image(net: HashingNet, image: np.ndarray, device: torch.device) -> int:
    was_training = net.training
    one = net.eval().prefix(to_tensor_images(image, device))
    net.train(was_training)
    return one.element_size() * one.numel()

