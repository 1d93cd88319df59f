"""The index file: a checked header, then the ids and word planes, each 64-byte aligned.

Layout (little-endian), so that ``mmap`` can map the planes in place without copying:

    0   8s  magic b"DSHGANHI"
    8   u32 version (1: codes only; 2: codes and a metadata section)
    12  u32 header size (64)
    16  u32 bits
    20  u32 multi-index substrings (0: exact scan only)
    24  i64 count (codes)
    32  i64 next default id
    40  u64 payload size
    48  u32 CRC-32 of the payload
    52  u32 CRC-32 of bytes 0..51
    56  8 bytes reserved (zero)
    64  payload: ids int64[count], then the uint64, uint32, uint16, uint8 planes (pieces, count)

Version 2 appends a metadata section to the payload, right after the last plane: u64 length L,
then L bytes of zlib-compressed UTF-8 JSON (an object). The header's payload size and CRC cover
it, so a damaged or cut metadata section is refused like damaged codes. Why a second version
rather than a second file: an image collection's paths and fingerprint must never drift apart
from its codes, and one atomically replaced file cannot. A version-1 reader refuses version 2
("newer version"); this reader accepts both, and writes version 1 when there is no metadata, so
plain code indexes stay readable by older dshgan.

A file that is shorter or longer than its header says, foreign, from a newer version, or whose
checksums disagree is refused with :class:`IndexFileError`. :func:`write_index` writes to a
temporary file beside the target and renames it into place, so a crash leaves either the old
file or the new one, never half of one.
"""

from __future__ import annotations

import json
import mmap as mmap_module
import os
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dshgan.index.packing import PLANE_DTYPES, plane_widths

MAGIC = b"DSHGANHI"
VERSION = 2
HEADER_SIZE = 64
ALIGN = 64
_HEAD = struct.Struct("<8sIIIIqqQI")  # everything before the header checksum (52 bytes)
_CHUNK = 1 << 24
_META_LEN = struct.Struct("<Q")
MAX_METADATA = 1 << 40  # a length beyond this is damage, not a collection


class IndexFileError(ValueError):
    """The file is not a readable dshgan index (truncated, foreign, newer or corrupt)."""


@dataclass
class IndexFile:
    """What a file holds: arrays are views of the mapping when loaded with ``mmap=True``."""

    bits: int
    substrings: int
    next_id: int
    ids: np.ndarray
    planes: tuple[np.ndarray, ...]
    metadata: dict | None = None  # version 2 only: a JSON object stored beside the codes


def _layout(bits: int, count: int) -> list[tuple[int, np.dtype, tuple[int, ...]]]:
    """(offset, little-endian dtype, shape) of every payload section."""
    sections = [(np.dtype("<i8"), (count,))]
    for dtype, pieces in zip(PLANE_DTYPES, plane_widths(bits)):
        sections.append((np.dtype(dtype).newbyteorder("<"), (pieces, count)))
    out, offset = [], HEADER_SIZE
    for dtype, shape in sections:
        offset = (offset + ALIGN - 1) // ALIGN * ALIGN
        out.append((offset, dtype, shape))
        offset += dtype.itemsize * int(np.prod(shape))
    return out


def _payload_end(bits: int, count: int) -> int:
    offset, dtype, shape = _layout(bits, count)[-1]
    return offset + dtype.itemsize * int(np.prod(shape))


def write_index(path: str | os.PathLike, index_file: IndexFile) -> None:
    """Write atomically: temporary file in the same folder, fsync, rename over ``path``."""
    path = Path(path)
    count = int(index_file.ids.shape[0])
    layout = _layout(index_file.bits, count)
    arrays = [index_file.ids, *index_file.planes]
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"\0" * HEADER_SIZE)
            crc = 0
            for (offset, dtype, shape), array in zip(layout, arrays):
                gap = offset - f.tell()
                if gap:
                    f.write(b"\0" * gap)
                    crc = zlib.crc32(b"\0" * gap, crc)
                data = np.ascontiguousarray(array, dtype=dtype).reshape(shape)
                flat = data.reshape(-1).view(np.uint8)
                for s in range(0, flat.size, _CHUNK):
                    piece = flat[s : s + _CHUNK]
                    f.write(piece.tobytes())
                    crc = zlib.crc32(piece, crc)
            version = 1
            if index_file.metadata is not None:
                version = 2
                section = _encode_metadata(index_file.metadata)
                for piece in (_META_LEN.pack(len(section)), section):
                    f.write(piece)
                    crc = zlib.crc32(piece, crc)
            payload = f.tell() - HEADER_SIZE
            head = _HEAD.pack(MAGIC, version, HEADER_SIZE, index_file.bits,
                              index_file.substrings, count, index_file.next_id, payload, crc)
            f.seek(0)
            f.write(head + struct.pack("<I", zlib.crc32(head)) + b"\0" * 8)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable where the platform allows it
        dir_fd = os.open(path.parent or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def read_index(path: str | os.PathLike, mmap: bool = False) -> IndexFile:
    """Read and check a file; with ``mmap`` the arrays map the file instead of copying it."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        header = f.read(HEADER_SIZE)
    if len(header) < HEADER_SIZE:
        if not MAGIC.startswith(header[: len(MAGIC)]):
            raise IndexFileError(f"{path} is not a dshgan index file (wrong magic string)")
        raise IndexFileError(f"{path} is truncated: {size} bytes, shorter than the header")
    if header[:8] != MAGIC:
        raise IndexFileError(f"{path} is not a dshgan index file (wrong magic string)")
    fields = _HEAD.unpack(header[: _HEAD.size])
    _, version, header_size, bits, substrings, count, next_id, payload, crc = fields
    (header_crc,) = struct.unpack("<I", header[_HEAD.size : _HEAD.size + 4])
    if version > VERSION:
        raise IndexFileError(
            f"{path} has format version {version}; this dshgan reads up to {VERSION}")
    if zlib.crc32(header[: _HEAD.size]) != header_crc or header_size != HEADER_SIZE:
        raise IndexFileError(f"{path} is corrupt: header checksum mismatch")
    if not 1 <= bits <= 1024 or count < 0:
        raise IndexFileError(f"{path} is corrupt: bits={bits}, count={count}")
    codes_end = expected = _payload_end(bits, count)
    if version >= 2:
        # the metadata section's length is implied by the (checked) payload size
        expected = HEADER_SIZE + payload
        if payload < codes_end + _META_LEN.size - HEADER_SIZE:
            raise IndexFileError(f"{path} is corrupt: payload size {payload} leaves no room for "
                                 f"{count} codes of {bits} bits and the metadata section")
    elif payload != expected - HEADER_SIZE:
        raise IndexFileError(f"{path} is corrupt: payload size {payload} does not match "
                             f"{count} codes of {bits} bits")
    if size < expected:
        raise IndexFileError(f"{path} is truncated: {size} bytes, expected {expected}")
    if size > expected:
        raise IndexFileError(f"{path} is corrupt: {size - expected} unexpected trailing bytes")

    with open(path, "rb") as f:
        if mmap and expected > HEADER_SIZE:
            # copy-on-write: the arrays stay writable (one compiled kernel serves mapped and
            # in-memory indexes alike) while the file itself is never written
            buffer = mmap_module.mmap(f.fileno(), 0, access=mmap_module.ACCESS_COPY)
        else:
            buffer = f.read()
    view = memoryview(buffer)
    crc = 0
    for s in range(HEADER_SIZE, expected, _CHUNK):
        crc = zlib.crc32(view[s : min(expected, s + _CHUNK)], crc)
    if crc != fields[-1]:
        raise IndexFileError(f"{path} is corrupt: payload checksum mismatch")
    arrays = []
    for offset, dtype, shape in _layout(bits, count):
        a = np.frombuffer(buffer, dtype=dtype, count=int(np.prod(shape)), offset=offset)
        a = a.reshape(shape)
        if sys.byteorder != "little":
            a = a.astype(dtype.newbyteorder("="))
        elif not mmap:
            a = a.copy()  # own, writable memory rather than a view of the bytes object
        arrays.append(a)
    metadata = None
    if version >= 2:
        metadata = _decode_metadata(path, bytes(view[codes_end:expected]))
    ids = arrays[0]
    if count and (ids[0] < 0 or (count > 1 and not (np.diff(ids) > 0).all())):
        raise IndexFileError(f"{path} is corrupt: ids are not unique, ascending and >= 0")
    if count and next_id <= ids[-1]:
        raise IndexFileError(f"{path} is corrupt: next id {next_id} <= largest id {ids[-1]}")
    return IndexFile(bits=bits, substrings=substrings, next_id=next_id, ids=ids,
                     planes=tuple(arrays[1:]), metadata=metadata)


def _encode_metadata(metadata: dict) -> bytes:
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    text = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return zlib.compress(text.encode("utf-8"), 6)


def _decode_metadata(path: Path, section: bytes) -> dict:
    (length,) = _META_LEN.unpack(section[: _META_LEN.size])
    if length != len(section) - _META_LEN.size or length > MAX_METADATA:
        raise IndexFileError(f"{path} is corrupt: metadata length {length} does not match the "
                             f"{len(section) - _META_LEN.size} bytes after the codes")
    try:
        metadata = json.loads(zlib.decompress(section[_META_LEN.size:]).decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise IndexFileError(f"{path} is corrupt: unreadable metadata ({exc})") from exc
    if not isinstance(metadata, dict):
        raise IndexFileError(f"{path} is corrupt: metadata is not a JSON object")
    return metadata
