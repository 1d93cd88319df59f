"""The images one run needs, each part at the size its consumer wants, none of it copied whole.

Why: the hashing net wants real images at its trunk's input size (128 px for the pretrained
trunk: the detail a photo loses at 32 px is gone before the trunk sees it), the GAN at its own
small size, and the database may be far larger than memory. So the small labelled parts (query,
train, validation) are decoded once at the hashing size, the GAN gets a bounded sample of the
unlabelled pool at its size, and the database is only ever streamed in batches. Images that
cannot be decoded are dropped from their part and recorded (data/bad_images.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from functools import cached_property

import numpy as np

from dshgan.data.bad_images import BadImages
from dshgan.data.dataset import ImageDataset
from dshgan.data.files import Decoded, ImageFiles, decode_part, part_batches
from dshgan.data.images import resize_images
from dshgan.data.protocols import Split

# Stage 1 draws ~100,000 unlabelled samples (1,500 steps of 64); a pool of 50,000 distinct images
# serves that, and at 32 px it costs 150 MB whatever the collection's size.
GAN_POOL_LIMIT = 50_000


class RunData:
    """One run's split of ``data`` with the labelled parts decoded at ``hash_size`` px."""

    def __init__(self, data: ImageDataset | ImageFiles, split: Split, hash_size: int,
                 gan_size: int, bad: BadImages, workers: int | None = None,
                 progress: bool = False, seed: int = 0):
        self.data, self.hash_size, self.gan_size = data, hash_size, gan_size
        self.bad, self.workers, self.progress, self.seed = bad, workers, progress, seed
        self.failed: set[int] = set()  # dataset indices that could not be decoded
        asked = np.concatenate([split.query, split.train, split.validation])
        decoded = self._checked(decode_part(data, asked, hash_size, workers, progress,
                                            "decode labelled images"))
        row = {int(i): r for r, i in enumerate(decoded.kept)}
        self._labelled = decoded.images

        def keep(part: np.ndarray) -> np.ndarray:
            return part[np.isin(part, decoded.kept)]

        self.split = dataclasses.replace(split, query=keep(split.query), train=keep(split.train),
                                         validation=keep(split.validation))
        self._rows = {p: np.asarray([row[int(i)] for i in getattr(self.split, p)], np.int64)
                      for p in ("query", "train", "validation")}

    def _checked(self, decoded: Decoded) -> Decoded:
        for i, message in decoded.failures:
            self.bad.record(self.data.names[i], message)
            self.failed.add(int(i))
        return decoded

    def split_without_failures(self) -> Split:
        """The split with every image that failed to decode so far taken out of every part."""
        failed = np.fromiter(self.failed, np.int64, len(self.failed))
        return dataclasses.replace(self.split, **{
            p: getattr(self.split, p)[~np.isin(getattr(self.split, p), failed)]
            for p in ("query", "train", "validation", "database", "unlabelled")})

    @property
    def labels(self) -> np.ndarray:
        return self.data.labels

    @property
    def multi_label(self) -> bool:
        return bool(self.data.multi_label)

    @property
    def class_names(self) -> list[str]:
        return list(self.data.class_names)

    def images(self, part: str) -> np.ndarray:
        """uint8 images of "query", "train" or "validation" at the hashing size."""
        return self._labelled[self._rows[part]]

    def part_labels(self, part: str) -> np.ndarray:
        return self.labels[getattr(self.split, part)]

    @cached_property
    def gan_train_images(self) -> np.ndarray:
        return resize_images(self.images("train"), self.gan_size)

    @cached_property
    def gan_unlabelled_images(self) -> np.ndarray:
        """The unlabelled pool at the GAN's size; from files, at most GAN_POOL_LIMIT of it
        (drawn with the seed). Data already in memory is used whole."""
        pool = self.split.unlabelled
        if isinstance(self.data, ImageFiles) and len(pool) > GAN_POOL_LIMIT:
            rng = np.random.default_rng(self.seed + 7)
            pool = np.sort(rng.choice(pool, GAN_POOL_LIMIT, replace=False))
        return self._checked(decode_part(self.data, pool, self.gan_size, self.workers,
                                         self.progress, "decode unlabelled pool")).images

    def batches(self, part: str, batch_size: int = 256, desc: str = "decode"
                ) -> Iterator[Decoded]:
        """A part of the split (e.g. "database") at the hashing size, one batch at a time; bad
        images are left out of the batches (and recorded)."""
        for batch in part_batches(self.data, getattr(self.split, part), self.hash_size,
                                  batch_size, self.workers, self.progress, desc):
            yield self._checked(batch)

    def encode_part(self, part: str, nets: list, device, desc: str = "encode",
                    each_batch: Callable[[Decoded], None] | None = None
                    ) -> dict[int, np.ndarray]:
        """Codes of every code length of ``nets`` for a part, streamed batch by batch (each
        batch also handed to ``each_batch``). Images that fail to decode leave the split's
        part, so the codes and the split stay aligned."""
        from dshgan.train.encoding import encode_images

        codes: dict[int, list] = {b: [] for net in nets for b in net.bits}
        kept = []
        for batch in self.batches(part, desc=desc):
            kept.append(batch.kept)
            for net in nets:
                for b, c in encode_images(net, batch.images, device).items():
                    codes[b].append(c)
            if each_batch is not None:
                each_batch(batch)
        self.split = dataclasses.replace(
            self.split, **{part: np.concatenate(kept) if kept else np.zeros(0, np.int64)})
        return {b: np.concatenate(v) if v else np.zeros((0, b), np.uint8)
                for b, v in codes.items()}

    def unlabelled_view(self) -> LazyImages:
        """The unlabelled pool at the hashing size, decoded batch by batch when indexed."""
        return LazyImages(self.data, self.split.unlabelled, self.hash_size)


class StreamedPart:
    """``FrozenPartOutputs.codes`` for a part read from files: every call streams it through the
    net batch by batch (nothing held)."""

    def __init__(self, rd: RunData, part: str):
        self.rd, self.part = rd, part

    def codes(self, net, device, progress: bool = False, desc: str = "encode"
              ) -> dict[int, np.ndarray]:
        return self.rd.encode_part(self.part, [net], device, desc=desc)


class LazyImages:
    """``pool[int_array]`` decodes just those images (for terms that sample the unlabelled pool
    a batch at a time); undecodable images are left out of the batch."""

    def __init__(self, data: ImageDataset | ImageFiles, indices: np.ndarray, size: int):
        self.data, self.indices, self.size = data, np.asarray(indices, np.int64), size

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, rows) -> np.ndarray:
        picked = self.indices[rows if isinstance(rows, slice) else np.asarray(rows)]
        return decode_part(self.data, picked, self.size, workers=0).images
