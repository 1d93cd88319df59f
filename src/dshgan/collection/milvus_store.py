"""An image collection's codes in Milvus (``pip install 'dshgan[milvus]'``): a ``CodeStore``.

Why: past what one machine holds or serves, the codes go to a vector database that shards and
replicates them. A Milvus collection gets one row per image: ``id`` (INT64, the index's id),
``code`` (BINARY_VECTOR, index BIN_FLAT, metric HAMMING: an exact scan, like ours), ``path``,
``labels`` (a JSON list) and ``sha1`` (hex). The model fingerprint, root and run folder ride in
the collection's description, so queries from another model are refused as with an index file.

Milvus takes binary vectors in whole bytes: a code is stored packed, padded with zero bits to a
multiple of 8 (``np.packbits``), which leaves every Hamming distance unchanged. Distances equal
the exact index's; among items tied at one distance Milvus's order is its own, so at the k-th
distance it may return other tied items than ``HammingIndex`` (which takes the smallest ids).
Milvus answers at most 16,384 results per query (``MAX_TOPK``): a larger k is refused before
any query is sent. ``uri``: a local file ending in ``.db`` runs Milvus Lite in-process; a
server is ``http://host:19530`` (standalone or cluster, with ``token`` if it needs one).
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Sequence

import numpy as np

from dshgan.collection.files import stored_path
from dshgan.collection.image_index import KIND, ImageIndex
from dshgan.index.flat import PAD_DISTANCE
from dshgan.index.packing import as_binary_codes

MAX_TOPK = 16384  # Milvus's limit on results per query (and on queries per request)
RESULTS_PER_REQUEST = 1 << 20  # keeps each reply well under gRPC's message limit
INSERT_ROWS = 20_000
FILTER_VALUES = 1000  # paths per `path in [...]` expression
DESCRIPTION_VERSION = 1


def import_milvus():
    """pymilvus's ``MilvusClient`` and ``DataType``, or an ImportError saying what to install."""
    try:
        with warnings.catch_warnings():  # milvus-lite 2.5 imports pkg_resources, deprecated
            warnings.simplefilter("ignore", UserWarning)
            from pymilvus import DataType, MilvusClient
    except ImportError as err:
        raise ImportError("the Milvus back end needs pymilvus and milvus-lite: "
                          "pip install 'dshgan[milvus]'") from err
    return MilvusClient, DataType


def connect(uri: str, token: str | None = None):
    """A ``MilvusClient`` for ``uri`` (a ``.db`` file starts Milvus Lite)."""
    client_class, _ = import_milvus()
    with warnings.catch_warnings():  # Milvus Lite is imported here, on first use
        warnings.simplefilter("ignore", UserWarning)
        return client_class(uri=str(uri), token=token or "")


@contextlib.contextmanager
def clear_errors(uri: str):
    """Any Milvus failure inside the block as one RuntimeError line naming ``uri`` and why
    (Milvus Lite's reason, e.g. "the file has been opened by another program", which it logs
    instead of raising), not a pymilvus traceback."""
    _, _ = import_milvus()
    from pymilvus.exceptions import MilvusException

    with _milvus_logs() as logged:
        try:
            yield
        except MilvusException as exc:
            message = getattr(exc, "message", None) or str(exc)
            why = f" ({'; '.join(logged)})" if logged else ""
            raise RuntimeError(f"cannot use Milvus at {uri}: {message}{why}") from None


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _milvus_logs():
    """The messages Milvus Lite logs while a collection opens (on the root logger, e.g. "the
    file has been opened by another program"), kept for the error instead of printed on
    stderr; pymilvus's own "failed to connect" lines, which the raised error repeats, are
    dropped. So a failure reads as one line."""
    loggers = [logging.getLogger(name) for name in ("pymilvus", "pymilvus.milvus_client")]
    levels = [logger.level for logger in loggers]
    collect, root = _Collect(), logging.getLogger()
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    root.addHandler(collect)
    try:
        yield collect.messages
    finally:
        root.removeHandler(collect)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def insert_columns(client, collection: str, columns: list[list]) -> None:
    """Insert rows given as one list per field, in schema order: twenty times faster than
    ``MilvusClient.insert``'s one dict per row (pymilvus 2.5 converts rows one by one)."""
    from pymilvus import Collection

    Collection(collection, using=client._using).insert(columns)  # the client's connection


def check_top_k(k: int) -> None:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k}")
    if k > MAX_TOPK:
        raise ValueError(f"k={k} is above Milvus's limit of {MAX_TOPK} results per query: ask "
                         f"for at most {MAX_TOPK}, or search the index file, which has no limit")


class MilvusStore:
    """One Milvus collection holding an image index's codes and metadata."""

    def __init__(self, client, collection: str, description: dict):
        self.client = client
        self.collection = collection
        self.fingerprint = dict(description["fingerprint"])
        self.bits = int(self.fingerprint["bits"])
        self.root = description["root"]
        self.run_dir = description.get("run_dir")
        self.label_source = description.get("label_source")

    def __repr__(self) -> str:
        return f"MilvusStore(collection={self.collection!r}, bits={self.bits})"

    @classmethod
    def open(cls, uri: str, collection: str, token: str | None = None) -> MilvusStore:
        """A collection written by :meth:`write`; anything else is refused."""
        with clear_errors(uri):
            return cls._open(uri, collection, token)

    @classmethod
    def _open(cls, uri: str, collection: str, token: str | None) -> MilvusStore:
        client = connect(uri, token)
        if not client.has_collection(collection):
            raise FileNotFoundError(f"Milvus at {uri} has no collection {collection!r} "
                                    "(make one with `dshgan index build ... --backend milvus`)")
        try:
            description = json.loads(client.describe_collection(collection)["description"])
            if description.get("kind") != KIND:
                raise ValueError(description.get("kind"))
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ValueError(f"Milvus collection {collection!r} at {uri} was not written by "
                             "dshgan") from None
        client.load_collection(collection)
        return cls(client, collection, description)

    @classmethod
    def write(cls, index: ImageIndex, uri: str, collection: str, token: str | None = None
              ) -> MilvusStore:
        """Replace ``collection`` with ``index``'s codes, ids, paths, labels and digests."""
        with clear_errors(uri):
            return cls._write(index, uri, collection, token)

    @classmethod
    def _write(cls, index: ImageIndex, uri: str, collection: str, token: str | None
               ) -> MilvusStore:
        _, data_type = import_milvus()
        client = connect(uri, token)
        description = {"kind": KIND, "version": DESCRIPTION_VERSION,
                       "fingerprint": index.fingerprint, "root": index.root,
                       "run_dir": index.run_dir, "label_source": index.label_source}
        if client.has_collection(collection):
            client.drop_collection(collection)
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False,
                                      description=json.dumps(description))
        schema.add_field("id", data_type.INT64, is_primary=True)
        schema.add_field("code", data_type.BINARY_VECTOR, dim=8 * ((index.bits + 7) // 8))
        schema.add_field("path", data_type.VARCHAR, max_length=65535)
        schema.add_field("labels", data_type.VARCHAR, max_length=65535)
        schema.add_field("sha1", data_type.VARCHAR, max_length=40)
        params = client.prepare_index_params()
        params.add_index(field_name="code", index_type="BIN_FLAT", metric_type="HAMMING")
        client.create_collection(collection, schema=schema, index_params=params,
                                 consistency_level="Strong")
        store = cls(client, collection, description)
        store._insert(index.ids, index.codes_index.codes(packed=True), index.paths,
                      index.labels, index.digests)
        client.flush(collection)
        client.load_collection(collection)
        return store

    def _insert(self, ids, packed, paths, labels, digests) -> None:
        for lo in range(0, len(ids), INSERT_ROWS):
            hi = min(len(ids), lo + INSERT_ROWS)
            insert_columns(self.client, self.collection, [
                ids[lo:hi].tolist(), [row.tobytes() for row in packed[lo:hi]], paths[lo:hi],
                [json.dumps(x) for x in labels[lo:hi]], [d.hex() for d in digests[lo:hi]]])

    def __len__(self) -> int:
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    # ------------------------------------------------------------------ CodeStore
    def search_codes(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64, distances int32), each (nq, k), nearest first; id -1 (distance
        int32 max) where the collection holds fewer than k codes."""
        check_top_k(k)
        codes = as_binary_codes(codes, self.bits, "query codes")
        packed = np.packbits(codes, axis=1)
        nq = len(packed)
        ids = np.full((nq, k), -1, np.int64)
        distances = np.full((nq, k), PAD_DISTANCE, np.int32)
        step = max(1, min(MAX_TOPK, RESULTS_PER_REQUEST // k))
        for lo in range(0, nq, step):
            hits = self.client.search(
                self.collection, data=[row.tobytes() for row in packed[lo:lo + step]],
                limit=int(k), anns_field="code", search_params={"metric_type": "HAMMING"})
            for q, found in enumerate(hits, start=lo):
                ids[q, :len(found)] = [h["id"] for h in found]
                distances[q, :len(found)] = [round(h["distance"]) for h in found]
        return ids, distances

    def metadata(self, ids: Sequence[int]) -> list[dict]:
        ids = [int(i) for i in ids]
        found = {}
        for lo in range(0, len(ids), FILTER_VALUES):
            for row in self.client.get(self.collection, ids=ids[lo:lo + FILTER_VALUES],
                                       output_fields=["path", "labels", "sha1"]):
                found[int(row["id"])] = {"id": int(row["id"]), "path": row["path"],
                                         "labels": json.loads(row["labels"]),
                                         "sha1": row["sha1"]}
        missing = [i for i in ids if i not in found]
        if missing:
            raise KeyError(f"ids not in Milvus collection {self.collection!r}: {missing[:5]}")
        return [found[i] for i in ids]

    # ------------------------------------------------------------------ maintenance
    def ids_of_paths(self, paths: Sequence[str]) -> dict[str, int]:
        """Stored path -> id for those of ``paths`` the collection holds."""
        paths = list(dict.fromkeys(paths))
        found = {}
        for lo in range(0, len(paths), FILTER_VALUES):
            values = ",".join(json.dumps(p, ensure_ascii=False)
                              for p in paths[lo:lo + FILTER_VALUES])
            for row in self.client.query(self.collection, filter=f"path in [{values}]",
                                         output_fields=["path"]):
                found[row["path"]] = int(row["id"])
        return found

    def remove(self, paths: Sequence[str]) -> int:
        """Remove these images (stored paths, or files under the root), all or nothing, as
        ``ImageIndex.remove`` does."""
        if isinstance(paths, str):
            paths = [paths]
        keys = [str(p) for p in paths]
        known = self.ids_of_paths(keys)
        keys = [k if k in known else stored_path(self.root, k) for k in keys]
        known.update(self.ids_of_paths([k for k in keys if k not in known]))
        missing = [k for k in keys if k not in known]
        if missing:
            raise ValueError(f"not in Milvus collection {self.collection!r}: {missing[:5]}"
                             + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        ids = sorted({known[k] for k in keys})
        for lo in range(0, len(ids), FILTER_VALUES):
            self.client.delete(self.collection, ids=ids[lo:lo + FILTER_VALUES])
        return len(ids)

    def info(self) -> dict:
        return {"collection": self.collection, "images": len(self), "bits": self.bits,
                "root": self.root, "run_dir": self.run_dir, "fingerprint": self.fingerprint,
                "label_source": self.label_source}

    def close(self) -> None:
        self.client.close()
