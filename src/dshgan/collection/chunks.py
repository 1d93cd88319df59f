"""Resumable encoding: a partial folder of finished chunks beside the index being written.

Why: encoding a large collection takes hours; a crash, a reboot or Ctrl-C must not throw away
the finished part. The file list is cut into fixed chunks; each finished chunk's codes, digests
and bad images go to their own file (written to a temporary name and renamed, so a chunk file is
whole or absent), next to a manifest of the file list, the model fingerprint and the chunk size.
A rerun with the same manifest skips the finished chunks; chunk boundaries (and so the batches
the net sees) are the same either way, so the result equals an uninterrupted run. A different
manifest (the folder changed, another model, another chunk size) starts over.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dshgan.collection.encoder import Encoder
from dshgan.collection.files import DIGEST_BYTES, file_digest
from dshgan.data.loader import decode_batches
from dshgan.io_utils import atomic_file, atomic_write_text

logger = logging.getLogger(__name__)

BAD_IMAGE_POLICIES = ("skip", "fail")
MANIFEST = "manifest.json"


@dataclass
class Chunk:
    """One chunk's outcome; positions index the whole file list."""

    positions: np.ndarray  # int64 (m,): files encoded
    codes: np.ndarray  # packed uint8 (m, ceil(bits / 8))
    digests: np.ndarray  # S20 (m,)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (position, message)


@dataclass
class Encoded:
    """Every chunk's outcome, concatenated in file-list order."""

    positions: np.ndarray
    codes: np.ndarray  # {0,1} uint8 (m, bits)
    digests: np.ndarray
    failures: list[tuple[int, str]]
    chunks: int
    resumed_chunks: int


class ChunkStore:
    """The partial folder: ``manifest.json`` and ``chunk-NNNNNN.npz`` per finished chunk."""

    def __init__(self, folder: str | os.PathLike, manifest: dict):
        self.folder = Path(folder)
        self.manifest = json.loads(json.dumps(manifest))  # as it reads back from the file
        self.resumed = False
        old = self._read_manifest()
        if old is not None and old == self.manifest:
            self.resumed = True
            return
        if self.folder.exists():
            if old is not None:
                logger.warning("%s belongs to another file list, model or chunk size: "
                               "starting over", self.folder)
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        atomic_write_text(self.folder / MANIFEST, json.dumps(self.manifest))

    def _read_manifest(self) -> dict | None:
        try:
            return json.loads((self.folder / MANIFEST).read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def _path(self, i: int) -> Path:
        return self.folder / f"chunk-{i:06d}.npz"

    def load(self, i: int, lo: int, hi: int, nbytes: int) -> Chunk | None:
        """Chunk i if it was finished (and reads back whole and in range), else None."""
        path = self._path(i)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                chunk = Chunk(z["positions"].astype(np.int64), z["codes"], z["digests"],
                              list(zip(z["fail_positions"].tolist(),
                                       z["fail_messages"].tolist())))
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("chunk file %s unreadable (%s): encoding it again", path, exc)
            return None
        done = np.concatenate([chunk.positions, [p for p, _ in chunk.failures]])
        if (sorted(done.tolist()) != list(range(lo, hi)) or chunk.codes.shape[1:] != (nbytes,)
                or chunk.codes.shape[0] != len(chunk.positions)):
            logger.warning("chunk file %s does not match its manifest: encoding it again", path)
            return None
        return chunk

    def save(self, i: int, chunk: Chunk) -> None:
        fails = chunk.failures
        arrays = {"positions": chunk.positions, "codes": chunk.codes, "digests": chunk.digests,
                  "fail_positions": np.array([p for p, _ in fails], np.int64),
                  "fail_messages": np.array([m for _, m in fails], dtype=str)}
        with atomic_file(self._path(i)) as f:
            np.savez(f, **arrays)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def encode_files(encoder: Encoder, files: Sequence[str], store: ChunkStore, chunk: int,
                 *, workers: int | None = None, progress: bool = True,
                 on_bad_image: str = "skip", names: Sequence[str] | None = None,
                 after_chunk: Callable[[int, int], None] | None = None) -> Encoded:
    """Encode ``files`` chunk by chunk, skipping chunks ``store`` already holds.

    ``names``: how to name each file in messages (default: the path). ``after_chunk(i, n)``
    runs after chunk i of n is safely on disk (a progress hook; tests stop a build there).
    With ``on_bad_image="fail"`` the first unreadable image raises ValueError naming it; the
    chunks finished before stay for a rerun.
    """
    if on_bad_image not in BAD_IMAGE_POLICIES:
        raise ValueError(f"on_bad_image must be one of {BAD_IMAGE_POLICIES}, got {on_bad_image!r}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    names = list(files) if names is None else list(names)
    n, nbytes = len(files), (encoder.bits + 7) // 8
    bounds = [(lo, min(n, lo + chunk)) for lo in range(0, n, chunk)]
    loaded = [store.load(i, lo, hi, nbytes) for i, (lo, hi) in enumerate(bounds)]
    resumed = sum(c is not None for c in loaded)
    bar = tqdm(total=n, initial=sum(hi - lo for (lo, hi), c in zip(bounds, loaded) if c),
               desc="index", unit="img", disable=not progress)
    for i, (lo, hi) in enumerate(bounds):
        if loaded[i] is None:
            loaded[i] = _encode_chunk(encoder, files, lo, hi, workers, on_bad_image, names, bar)
            store.save(i, loaded[i])
            if after_chunk is not None:
                after_chunk(i, len(bounds))
    bar.close()
    cat = (lambda xs, empty: np.concatenate(xs) if xs else empty)
    return Encoded(
        positions=cat([c.positions for c in loaded], np.zeros(0, np.int64)),
        codes=np.unpackbits(cat([c.codes for c in loaded], np.zeros((0, nbytes), np.uint8)),
                            axis=1, count=encoder.bits),
        digests=cat([c.digests for c in loaded], np.zeros(0, f"S{DIGEST_BYTES}")),
        failures=[f for c in loaded for f in c.failures],
        chunks=len(bounds), resumed_chunks=resumed)


def _encode_chunk(encoder: Encoder, files: Sequence[str], lo: int, hi: int,
                  workers: int | None, on_bad_image: str, names: Sequence[str],
                  bar: tqdm) -> Chunk:
    positions, codes, digests, failures = [], [], [], []
    batch_size = min(encoder.batch_size, hi - lo)
    for batch in decode_batches(files[lo:hi], encoder.image_size, batch_size=batch_size,
                                workers=workers, progress=False):
        bad = [(lo + int(p), msg) for p, msg in batch.failures]
        keep = []
        for j, p in enumerate(batch.positions.tolist()):
            try:
                digests.append(file_digest(files[lo + p]))
                keep.append(j)
            except OSError as exc:  # gone or unreadable since it was decoded
                bad.append((lo + p, f"cannot read image {names[lo + p]}: {exc}"))
        if bad and on_bad_image == "fail":
            position, message = min(bad)
            raise ValueError(f"{message} [{names[position]}] (use --on-bad-image skip / "
                             "on_bad_image='skip' to index the rest and list the bad ones)")
        failures.extend(bad)
        if keep:
            positions.append(batch.positions[keep] + lo)
            codes.append(np.packbits(encoder.encode(batch.images[keep]), axis=1))
        bar.update(len(batch.positions) + len(batch.failures))
    nbytes = (encoder.bits + 7) // 8
    return Chunk(
        positions=np.concatenate(positions) if positions else np.zeros(0, np.int64),
        codes=np.concatenate(codes) if codes else np.zeros((0, nbytes), np.uint8),
        digests=np.asarray(digests, dtype=f"S{DIGEST_BYTES}").reshape(-1),
        failures=sorted(failures))
