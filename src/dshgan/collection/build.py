"""Index a folder of images with a trained run (``build_index``), or add more (``add_images``).

Both encode in resumable chunks (see ``chunks``): killed at any point and rerun with the same
arguments, they continue from the finished chunks, and the index they write equals the one an
uninterrupted run writes (same ids, paths and codes). The index file is written atomically at
the end, then the partial folder is removed. Unreadable images are skipped and listed in
``<index>.bad_images.txt`` (path, a tab, the reason), or stop the run with
``on_bad_image="fail"``. Under ``torchrun`` (or with ``shard=``) the file list is cut into
shards of whole chunks, one per process (see ``shards``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch.distributed as dist

from dshgan.collection.chunks import ChunkStore, encode_files
from dshgan.collection.encoder import Encoder
from dshgan.collection.files import folder_labels, list_images
from dshgan.collection.image_index import ImageIndex
from dshgan.collection.shards import (
    check_same_listing,
    encode_shard,
    gather_on_main,
    shard_range,
)
from dshgan.distributed import process_group, torchrun_world
from dshgan.io_utils import atomic_write_text

logger = logging.getLogger(__name__)

DEFAULT_CHUNK = 4096


@dataclass
class BuildReport:
    index: ImageIndex | None  # None on torchrun ranks other than 0
    out: str
    listed: int  # image files found
    added: int  # images encoded into the index by this run
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    skipped_present: int = 0  # add_images: already in the index
    chunks: int = 0
    resumed_chunks: int = 0  # finished by an earlier, interrupted run
    seconds: float = 0.0
    bad_list: str | None = None  # the file listing the bad images, if any


def partial_folder(out: str | os.PathLike, purpose: str = "build") -> Path:
    """Where an interrupted run keeps its finished chunks: beside the index file."""
    return Path(f"{out}.partial" if purpose == "build" else f"{out}.{purpose}.partial")


def bad_images_file(out: str | os.PathLike) -> Path:
    return Path(f"{out}.bad_images.txt")


def build_index(run_dir: str | os.PathLike | None, images_root: str | os.PathLike,
                out: str | os.PathLike, bits: int | None = None, chunk: int = DEFAULT_CHUNK,
                progress: bool = True, workers: int | None = None, on_bad_image: str = "skip",
                labels: str = "auto", device: str = "auto", encoder: Encoder | None = None,
                after_chunk: Callable[[int, int], None] | None = None,
                shard: tuple[int, int] | None = None,
                write: Callable[[ImageIndex], None] | None = None) -> BuildReport:
    """Index every image under ``images_root`` (recursive, symbolic links followed) into
    ``out``, with the run's ``bits``-bit codes (None: the longest); rerun to resume.

    ``labels``: "auto" (each image's parent folder is its label when the folder is laid out as
    training reads one: ``<class>/<image>``, ``<split>/<class>/<image>`` or ``labelled/<class>/``
    beside ``unlabelled/``), "folder" (the parent folder always) or "none"; images directly
    under the root or under ``unlabelled/`` get none. ``encoder`` replaces
    ``run_dir``/``bits``/``device`` when already loaded.

    Started by ``torchrun`` (RANK/WORLD_SIZE set), every rank encodes its shard of the file
    list and rank 0 writes the whole index, equal to a one-process build; the other ranks
    return a report with ``index`` None. ``shard=(r, n)`` indexes only shard r of n (for
    separate machines; ``merge_indexes`` joins the parts into the whole). ``write`` replaces
    ``index.save(out)`` (e.g. a Milvus collection); ``out`` still names the partial folders.
    """
    world = torchrun_world()
    if world is not None and shard is not None:
        raise ValueError("--shard is for separate machines: under torchrun every rank takes "
                         "its own shard already")
    if world is None:
        return _build(run_dir, images_root, out, bits, chunk, progress, workers, on_bad_image,
                      labels, device, encoder, after_chunk, shard, write, None)
    with process_group(world):
        return _build(run_dir, images_root, out, bits, chunk, progress and world.is_main,
                      workers, on_bad_image, labels, world.device(device), encoder,
                      after_chunk, (world.rank, world.size), write, world)


def _build(run_dir, images_root, out, bits, chunk, progress, workers, on_bad_image, labels,
           device, encoder, after_chunk, shard, write, world) -> BuildReport:
    start = time.perf_counter()
    encoder = encoder or Encoder.from_run(run_dir, bits=bits, device=device)
    if bits is not None and encoder.bits != bits:
        raise ValueError(f"the encoder gives {encoder.bits}-bit codes, not {bits}")
    root = os.path.abspath(images_root)
    files = list_images(root)
    if os.path.isfile(root):
        root = os.path.dirname(root)
    if not files:
        raise ValueError(f"no image files under {images_root} "
                         "(looked for .jpg, .jpeg, .png, .bmp, .gif, .webp, .ppm, .tif ...)")
    if world is not None:
        check_same_listing(files, world)
    label_source = "folder" if folder_labels(files, labels) is not None else None
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    manifest = {"purpose": "build", "root": root, "files": files, "chunk": int(chunk),
                "fingerprint": encoder.fingerprint, "labels": label_source}
    paths = [os.path.join(root, f) for f in files]
    options = {"workers": workers, "progress": progress, "on_bad_image": on_bad_image,
               "after_chunk": after_chunk}
    listed = len(files)
    if shard is None:
        store = ChunkStore(partial_folder(out), manifest)
        done = encode_files(encoder, paths, store, chunk, names=files, **options)
    else:
        done, store = encode_shard(encoder, paths, files, str(out), chunk, *shard, manifest,
                                   **options)
        if world is None:
            lo, hi = shard_range(len(files), chunk, *shard)
            listed = hi - lo
        else:
            mine = done
            done = gather_on_main(done, world, encoder.bits)
    index = bad_list = None
    if done is not None:
        index = ImageIndex(encoder.fingerprint, root, run_dir=encoder.run_dir,
                           label_source=label_source)
        index.add_codes(done.codes, [files[p] for p in done.positions], done.digests)
        index.use(encoder)
        bad = [(files[p], message) for p, message in done.failures]
        bad_list = _write_bad_list(out, bad, keep_old=False)
        if write is None:
            index.save(out)
        else:
            write(index)
    if world is not None:
        dist.barrier()  # rank 0 has written the index: every rank may drop its chunks
    store.remove()
    if index is None:  # a rank other than 0: its own share only
        return BuildReport(None, str(out), listed, len(mine.positions),
                           [(files[p], m) for p, m in mine.failures], 0, mine.chunks,
                           mine.resumed_chunks, time.perf_counter() - start)
    return BuildReport(index, str(out), listed, len(index), bad, 0, done.chunks,
                       done.resumed_chunks, time.perf_counter() - start, bad_list)


def add_images(index_path: str | os.PathLike, images: str | os.PathLike,
               run_dir: str | os.PathLike | None = None, chunk: int = DEFAULT_CHUNK,
               progress: bool = True, workers: int | None = None, on_bad_image: str = "skip",
               device: str = "auto",
               after_chunk: Callable[[int, int], None] | None = None) -> BuildReport:
    """Add the images under ``images`` (a folder or one file) to the index file, encoded by
    the run the index records (or ``run_dir``, which must hold the very same model: same
    model.pt bytes and code length). Images already indexed (same stored path) are left as they
    are; rerun to resume an interrupted add."""
    start = time.perf_counter()
    index = ImageIndex.load(index_path)
    if run_dir is not None:
        index.use(Encoder.from_run(run_dir, bits=index.bits, device=device))
    elif index.run_dir is not None and Path(index.run_dir, "model.pt").exists():
        index.use(Encoder.from_run(index.run_dir, bits=index.bits, device=device))
    encoder = index._encoder(None)  # refuses a model other than the index's
    source = os.path.abspath(images)
    listed = list_images(source)
    base = os.path.dirname(source) if os.path.isfile(source) else source
    full = [os.path.join(base, f) for f in listed]
    stored = [index.stored_path(f) for f in full]
    new = [i for i, s in enumerate(stored) if s not in index]
    files, names = [full[i] for i in new], [stored[i] for i in new]
    store = ChunkStore(partial_folder(index_path, "add"), {
        "purpose": "add", "files": files, "chunk": int(chunk),
        "fingerprint": encoder.fingerprint})
    done = encode_files(encoder, files, store, chunk, workers=workers, progress=progress,
                        on_bad_image=on_bad_image, names=names, after_chunk=after_chunk)
    index.add_codes(done.codes, [names[p] for p in done.positions], done.digests)
    bad = [(names[p], message) for p, message in done.failures]
    bad_list = _write_bad_list(index_path, bad, keep_old=True)
    index.save(index_path)
    store.remove()
    return BuildReport(index, str(index_path), len(listed), len(done.positions), bad,
                       len(listed) - len(files), done.chunks, done.resumed_chunks,
                       time.perf_counter() - start, bad_list)


def _write_bad_list(out: str | os.PathLike, bad: list[tuple[str, str]],
                    keep_old: bool) -> str | None:
    """``<out>.bad_images.txt``: one "path<TAB>reason" line per unreadable image. A build
    replaces it (and removes a stale one); an add appends to it."""
    path = bad_images_file(out)
    lines = []
    if keep_old and path.exists():
        lines = path.read_text("utf-8").splitlines()
    listed = {line.split("\t", 1)[0] for line in lines}
    lines += [f"{p}\t{' '.join(m.split())}" for p, m in bad if p not in listed]
    if not lines:
        path.unlink(missing_ok=True)
        return None
    atomic_write_text(path, "\n".join(lines) + "\n")
    return str(path)
