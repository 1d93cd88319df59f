"""ImageIndex: the binary codes of an image collection and what each code stands for.

Per item it keeps an id (int64, the code's id in the ``HammingIndex``), the image's path relative
to the collection's root (absolute for an image added from outside the root), its label names
(the parent folder, as training reads ``<class>/<image>`` layouts, when the index keeps folder
labels: ``files.folder_labels``) and the sha1 of the file's bytes. The index also records the fingerprint of the model that made the codes
(see ``fingerprint``) and refuses codes or encoders of any other model or code length.

All of it is saved in one index file (format version 2: the metadata section rides with the
codes under the same checksum and the same atomic rename), so the paths can never describe
another version of the codes.

Result order (the tie rule): by Hamming distance; among equal distances, items whose content
digest equals the query file's digest (the very same file bytes) come first; then by id, i.e.
in the order the images were indexed. So an indexed image searched for itself comes first, at
distance 0, even when other images share its code exactly.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dshgan.collection.encoder import Encoder, ImageLike
from dshgan.collection.files import DIGEST_BYTES, file_digest, label_of, stored_path
from dshgan.collection.fingerprint import check_same_model
from dshgan.collection.label_column import LabelColumn
from dshgan.index import HammingIndex, IndexFileError
from dshgan.index.packing import as_binary_codes

KIND = "dshgan-image-index"
METADATA_VERSION = 1


@dataclass(frozen=True)
class SearchResult:
    rank: int  # 1 = nearest
    id: int
    path: str  # relative to the index's root (absolute if the image lies outside it)
    distance: int  # Hamming distance to the query's code
    labels: list[str] = field(default_factory=list)
    same_file: bool = False  # the item's bytes are the query file's bytes (same sha1)

    def to_dict(self) -> dict:
        return asdict(self)


class ImageIndex:
    """Codes of a collection's images plus per-image metadata; search by image."""

    def __init__(self, fingerprint: dict, root: str | os.PathLike, run_dir: str | None = None,
                 label_source: str | None = None):
        if label_source not in (None, "folder"):
            raise ValueError(f"label_source must be None or 'folder', got {label_source!r}")
        self.fingerprint = dict(fingerprint)
        self.root = os.path.abspath(root)
        self.run_dir = run_dir
        self.label_source = label_source
        self.codes_index = HammingIndex(int(fingerprint["bits"]))
        self._paths: list[str] = []
        self._digests = np.zeros(0, f"S{DIGEST_BYTES}")
        self._labels = LabelColumn()
        self._row_of_path: dict[str, int] | None = None
        self._packed: np.ndarray | None = None
        self.encoder: Encoder | None = None
        self.file: str | None = None  # where it was loaded from or saved to, for messages

    # ------------------------------------------------------------------ basics
    @property
    def bits(self) -> int:
        return self.codes_index.bits

    def __len__(self) -> int:
        return len(self.codes_index)

    @property
    def ids(self) -> np.ndarray:
        return self.codes_index.ids

    @property
    def paths(self) -> list[str]:
        """Stored paths in id order (a copy)."""
        return list(self._paths)

    @property
    def labels(self) -> list[list[str]]:
        """Label names of each item in id order (a copy)."""
        return self._labels.to_lists()

    @property
    def digests(self) -> np.ndarray:
        """sha1 of each image file, fixed-width bytes (n,), in id order."""
        return self._digests.copy()

    def __repr__(self) -> str:
        return (f"ImageIndex(n={len(self)}, bits={self.bits}, root={self.root!r}, "
                f"run={self.fingerprint.get('run')!r})")

    def _name(self) -> str:
        return f"index {self.file}" if self.file else "this index"

    def stored_path(self, file: str | os.PathLike) -> str:
        """How ``file`` is recorded: relative to the root (``/``-separated) when inside it."""
        return stored_path(self.root, file)

    def full_path(self, stored: str) -> str:
        """The file an item's stored path names."""
        return stored if os.path.isabs(stored) else os.path.join(self.root, stored)

    def __contains__(self, stored: str) -> bool:
        return stored in self._path_rows()

    def item(self, id: int) -> dict:
        """One item by id, without copying whole columns (a server looks items up one by one):
        {"id", "path" (stored), "labels", "digest" (sha1 bytes), "code" ({0,1} uint8 (bits,))}.
        KeyError for an id the index does not hold."""
        ids = self.ids
        row = int(np.searchsorted(ids, id))
        if row >= len(ids) or ids[row] != id:
            raise KeyError(f"no item with id {id} in {self._name()}")
        code = np.unpackbits(self._packed_codes()[row], count=self.bits)
        return {"id": int(id), "path": self._paths[row], "labels": self._labels[row],
                "digest": self._digests[row:row + 1].tobytes(), "code": code}

    def _path_rows(self) -> dict[str, int]:
        if self._row_of_path is None:
            self._row_of_path = {p: i for i, p in enumerate(self._paths)}
        return self._row_of_path

    def _changed(self) -> None:
        self._row_of_path = None
        self._packed = None

    # ------------------------------------------------------------------ encoders
    def use(self, encoder: Encoder) -> ImageIndex:
        """Encode queries and new images with ``encoder`` (refused unless it made these codes)."""
        check_same_model(self.fingerprint, encoder.fingerprint, self._name())
        self.encoder = encoder
        return self

    def _encoder(self, encoder: Encoder | None) -> Encoder:
        if encoder is not None:
            check_same_model(self.fingerprint, encoder.fingerprint, self._name())
            return encoder
        if self.encoder is None:
            run = self.run_dir
            if run is None or not Path(run, "model.pt").exists():
                raise FileNotFoundError(
                    f"the run folder {run} that {self._name()} was built with (model.pt) is not "
                    "there any more: give the run (encoder=Encoder.from_run(RUN), or --run RUN)")
            self.use(Encoder.from_run(run, bits=self.bits))
        return self.encoder

    # ------------------------------------------------------------------ mutation
    def add_codes(self, codes: np.ndarray, paths: Sequence[str], digests: Sequence[bytes],
                  labels: Sequence[Sequence[str]] | None = None) -> np.ndarray:
        """Add already-encoded items (stored paths, sha1 digests); returns their new ids.

        ``labels`` None: from the folder layout if the index keeps folder labels, else none.
        """
        codes = as_binary_codes(codes, self.bits, "codes")
        n = codes.shape[0]
        paths = [str(p) for p in paths]
        digests = np.asarray(list(digests), dtype=f"S{DIGEST_BYTES}").reshape(-1)
        if len(paths) != n or digests.shape[0] != n:
            raise ValueError(f"{n} codes but {len(paths)} paths and {digests.shape[0]} digests")
        if labels is None:
            labels = [label_of(p) if self.label_source == "folder" and not os.path.isabs(p)
                      else [] for p in paths]
        labels = [[str(x) for x in item] for item in labels]
        if len(labels) != n:
            raise ValueError(f"{n} codes but {len(labels)} label lists")
        known = self._path_rows()
        clash = [p for p in paths if p in known]
        if len(set(paths)) != n:
            clash += [p for p, c in Counter(paths).items() if c > 1]
        if clash:
            raise ValueError(f"already in {self._name()}: {clash[:5]} (remove them first)")
        if n == 0:
            return np.zeros(0, np.int64)
        self.codes_index.add(codes)  # new ids: the next unused ones, so the largest
        self._paths.extend(paths)
        self._digests = np.concatenate([self._digests, digests])
        self._labels.extend(labels)
        self._changed()
        return self.ids[-n:].copy()

    def add(self, images: Sequence[str | os.PathLike], encoder: Encoder | None = None
            ) -> np.ndarray:
        """Encode image files and add them; returns their ids. For a whole folder, with
        progress, chunks and bad-image handling, use ``build.add_images``."""
        encoder = self._encoder(encoder)
        files = [str(p) for p in images]
        codes = encoder.encode(files)
        return self.add_codes(codes, [self.stored_path(f) for f in files],
                              [file_digest(f) for f in files])

    def remove(self, paths: Sequence[str | os.PathLike]) -> int:
        """Remove these images (stored paths, or file paths under the root). Every path must be
        in the index, else nothing is removed and ValueError names the missing ones."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        rows = self._path_rows()
        wanted = []
        missing = []
        for p in paths:
            key = str(p) if str(p) in rows else self.stored_path(p)
            (wanted if key in rows else missing).append(key)
        if missing:
            raise ValueError(f"not in {self._name()}: {missing[:5]}"
                             + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        drop = np.zeros(len(self), bool)
        drop[[rows[k] for k in wanted]] = True
        self.codes_index.remove(self.ids[drop])
        keep = np.flatnonzero(~drop)
        self._paths = [self._paths[i] for i in keep]
        self._labels.keep(keep)
        self._digests = self._digests[keep]
        self._changed()
        return int(drop.sum())

    # ------------------------------------------------------------------ search
    def search(self, images: Sequence[ImageLike] | np.ndarray, k: int | None = 10,
               radius: int | None = None, encoder: Encoder | None = None
               ) -> list[list[SearchResult]]:
        """Nearest indexed images of each query image (file paths, PIL images or arrays).

        ``k``: at most this many results per query; ``radius``: only items within this
        Hamming distance (inclusive); at least one of the two must be given. Order: see the
        module docstring (file-path queries identical to an indexed file come first among ties).
        """
        if isinstance(images, (str, os.PathLike)):
            raise TypeError("search takes a list of images: wrap a single path in a list")
        encoder = self._encoder(encoder)
        if isinstance(images, np.ndarray) and images.ndim == 4:
            digests = [None] * len(images)
        else:
            images = list(images)
            digests = [file_digest(x) if isinstance(x, (str, os.PathLike)) else None
                       for x in images]
        return self.search_codes(encoder.encode(images), k=k, radius=radius, digests=digests)

    def search_codes(self, codes: np.ndarray, k: int | None = 10, radius: int | None = None,
                     digests: Sequence[bytes | None] | None = None) -> list[list[SearchResult]]:
        """:meth:`search` for already-encoded queries ({0,1} (nq, bits)); ``digests`` (the sha1
        of each query file, or None) drive the tie rule."""
        codes = np.asarray(codes)
        if codes.ndim != 2:
            raise ValueError(f"query codes must have shape (n, bits), got {codes.shape}")
        if codes.shape[1] != self.bits:
            raise ValueError(f"the queries are {codes.shape[1]}-bit codes but {self._name()} "
                             f"holds {self.bits}-bit codes: encode queries at {self.bits} bits")
        if k is None and radius is None:
            raise ValueError("give k, radius or both")
        if k is not None and (isinstance(k, bool) or int(k) != k or k < 1):
            raise ValueError(f"k must be an integer >= 1, got {k}")
        if radius is not None and (isinstance(radius, bool) or int(radius) != radius
                                   or radius < 0):
            raise ValueError(f"radius must be an integer >= 0, got {radius}")
        nq = codes.shape[0]
        digests = [None] * nq if digests is None else list(digests)
        if len(digests) != nq:
            raise ValueError(f"{nq} queries but {len(digests)} digests")
        if nq == 0:
            return []
        if radius is None:
            dist, ids = self.codes_index.search(codes, min(int(k), max(len(self), 1)))
            hits = [(dist[q][ids[q] >= 0], ids[q][ids[q] >= 0]) for q in range(nq)]
        else:
            lims, dist, ids = self.codes_index.range_search(codes, int(radius))
            hits = [(dist[lims[q]:lims[q + 1]], ids[lims[q]:lims[q + 1]]) for q in range(nq)]
        packed = np.packbits(as_binary_codes(codes, self.bits, "queries"), axis=1)
        return [self._results(packed[q], hits[q][0], hits[q][1], digests[q], k, radius)
                for q in range(nq)]

    def _results(self, query: np.ndarray, dist: np.ndarray, ids: np.ndarray,
                 digest: bytes | None, k: int | None, radius: int | None) -> list[SearchResult]:
        rows = np.searchsorted(self.ids, ids)
        same = np.zeros(len(rows), bool)
        if digest is not None and len(self):
            match = self._rows_with_digest(digest)
            if match.size:
                # same-file items can sit beyond the k returned (a tie at the k-th distance,
                # or a later id): their distances join the candidates, then the tie rule sorts
                d_match = _hamming(self._packed_codes()[match], query)
                if radius is not None:
                    match, d_match = match[d_match <= radius], d_match[d_match <= radius]
                extra = ~np.isin(match, rows)
                rows = np.concatenate([rows, match[extra]])
                dist = np.concatenate([dist, d_match[extra]])
                same = np.isin(rows, match)
        order = np.lexsort((rows, ~same, dist))  # distance, then same file first, then id
        if k is not None:
            order = order[:k]
        ids = self.ids
        return [SearchResult(rank=r + 1, id=int(ids[rows[i]]), path=self._paths[rows[i]],
                             distance=int(dist[i]), labels=self._labels[rows[i]],
                             same_file=bool(same[i]))
                for r, i in enumerate(order)]

    def _rows_with_digest(self, digest: bytes) -> np.ndarray:
        """Rows whose sha1 is ``digest``: one 4-byte column first, then the whole digest (a
        fifth of the memory traffic of comparing 20-byte strings: ~1 ms per million items)."""
        words = np.ascontiguousarray(self._digests).view(np.uint32).reshape(-1, DIGEST_BYTES // 4)
        query = np.frombuffer(bytes(digest).ljust(DIGEST_BYTES, b"\0"), np.uint32)
        rows = np.flatnonzero(words[:, 0] == query[0])
        return rows[(words[rows] == query).all(1)]

    def _packed_codes(self) -> np.ndarray:
        if self._packed is None:
            self._packed = self.codes_index.codes(packed=True)
        return self._packed

    # ------------------------------------------------------------------ persistence
    def metadata(self) -> dict:
        return {
            "kind": KIND, "version": METADATA_VERSION, "fingerprint": self.fingerprint,
            "root": self.root, "run_dir": self.run_dir, "label_source": self.label_source,
            # paths as one NUL-separated string (no file name holds a NUL): one JSON string
            # parses far faster than a million
            "count": len(self), "paths": "\0".join(self._paths),
            "sha1": base64.b64encode(self._digests.tobytes()).decode("ascii"),
            "labels": self._labels.to_json(),
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write codes and metadata to one file, atomically (the old file stays until then)."""
        self.codes_index.save(path, metadata=self.metadata())
        self.file = str(path)

    @classmethod
    def load(cls, path: str | os.PathLike, encoder: Encoder | None = None) -> ImageIndex:
        """Read a file written by :meth:`save`; a plain code index, a foreign, truncated or
        corrupt file is refused with ``IndexFileError`` (a ValueError) naming it."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"index file {path} not found")
        codes, meta = HammingIndex.load_with_metadata(path)
        if meta is None:
            raise IndexFileError(f"{path} holds binary codes only (a plain HammingIndex file), "
                                 "not an image collection: make one with `dshgan index build`")
        if meta.get("kind") != KIND:
            raise IndexFileError(f"{path} is not a dshgan image index (kind {meta.get('kind')!r})")
        if meta.get("version", 0) > METADATA_VERSION:
            raise IndexFileError(f"{path} has image-index metadata version {meta['version']}; "
                                 f"this dshgan reads up to {METADATA_VERSION}")
        try:
            index = cls(meta["fingerprint"], meta["root"], meta.get("run_dir"),
                        meta.get("label_source"))
            n = len(codes)
            paths = meta["paths"].split("\0") if n else []
            digests = np.frombuffer(base64.b64decode(meta["sha1"]), f"S{DIGEST_BYTES}")
            labels = LabelColumn.from_json(meta.get("labels"), n)
            if not (meta["count"] == n == len(paths) == len(digests)):
                raise ValueError(f"{n} codes, {len(paths)} paths, {len(digests)} digests")
            if codes.bits != int(meta["fingerprint"]["bits"]):
                raise ValueError(f"{codes.bits}-bit codes under a {meta['fingerprint']['bits']}"
                                 "-bit fingerprint")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IndexFileError(f"{path} is corrupt: inconsistent metadata ({exc})") from exc
        index.codes_index = codes
        index._paths = paths
        index._digests = digests.copy()
        index._labels = labels
        index.file = str(path)
        if encoder is not None:
            index.use(encoder)
        return index

    def info(self) -> dict:
        """What the index holds, for ``dshgan index info``."""
        return {
            "file": self.file, "images": len(self), "bits": self.bits, "root": self.root,
            "run_dir": self.run_dir, "fingerprint": self.fingerprint,
            "label_source": self.label_source, "labels": self._labels.counts(),
            "unlabelled": self._labels.unlabelled(),
        }


def _hamming(packed_rows: np.ndarray, packed_query: np.ndarray) -> np.ndarray:
    return np.unpackbits(packed_rows ^ packed_query[None, :], axis=1).sum(1).astype(np.int64)
