"""Bit packing shared by the index and the metrics.

Codes travel as {0,1} arrays of shape (n, bits); the index and the fast kernels work on
``np.packbits`` bytes, zero-padded to a multiple of 8 bits (padding never changes a distance).
"""

from __future__ import annotations

import numpy as np


def as_binary_codes(codes: np.ndarray, bits: int | None = None, name: str = "codes") -> np.ndarray:
    """Validate a {0,1} or bool array of shape (n, bits) and return it as uint8."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, bits), got shape {codes.shape}")
    if bits is not None and codes.shape[1] != bits:
        raise ValueError(f"{name} have {codes.shape[1]} bits, expected {bits}")
    if codes.dtype == np.bool_:
        return codes.astype(np.uint8)
    if not (np.issubdtype(codes.dtype, np.integer) or np.issubdtype(codes.dtype, np.floating)):
        raise TypeError(f"{name} must be a bool or {{0,1}} numeric array, got dtype {codes.dtype}")
    if codes.size and not np.isin(codes, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (binarise with outputs > 0.5 first)")
    return codes.astype(np.uint8)


def pack_codes(codes: np.ndarray, bits: int | None = None) -> np.ndarray:
    """{0,1} codes (n, bits) -> packed uint8 (n, ceil(bits/8)), big-endian bit order per byte."""
    return np.packbits(as_binary_codes(codes, bits), axis=1)


def unpack_codes(packed: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: packed uint8 (n, ceil(bits/8)) -> {0,1} uint8 (n, bits)."""
    packed = np.asarray(packed, dtype=np.uint8)
    return np.unpackbits(packed, axis=1, count=bits)


# Word planes: the kernels' storage. A packed row of ``nbytes`` bytes is cut into as many uint64
# words as fit, then at most one uint32, one uint16 and one uint8 piece, so the stored size is
# exactly the packed size (no padding to whole words) while every popcount still runs on the
# widest integer available. Each piece is kept as a contiguous plane of shape (pieces, n): a scan
# streams one plane at a time, which the compiler turns into wide vector popcounts.
PLANE_DTYPES = (np.uint64, np.uint32, np.uint16, np.uint8)


def plane_widths(bits: int) -> tuple[int, int, int, int]:
    """Number of uint64, uint32, uint16 and uint8 pieces per code of ``bits`` bits."""
    nbytes = (bits + 7) // 8
    rest = nbytes % 8
    return nbytes // 8, (rest >> 2) & 1, (rest >> 1) & 1, rest & 1


def to_planes(packed: np.ndarray, bits: int) -> tuple[np.ndarray, ...]:
    """Packed uint8 (n, ceil(bits/8)) -> four contiguous planes (pieces, n) in native byte order."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    n = packed.shape[0]
    planes = []
    col = 0
    for dtype, count in zip(PLANE_DTYPES, plane_widths(bits)):
        size = np.dtype(dtype).itemsize
        chunk = np.ascontiguousarray(packed[:, col : col + size * count])
        words = chunk.view(dtype).reshape(n, count)
        planes.append(np.ascontiguousarray(words.T))
        col += size * count
    return tuple(planes)


def from_planes(planes: tuple[np.ndarray, ...], bits: int) -> np.ndarray:
    """Inverse of :func:`to_planes`: planes -> packed uint8 (n, ceil(bits/8))."""
    n = planes[0].shape[1]
    parts = [np.ascontiguousarray(p.T).view(np.uint8).reshape(n, p.shape[0] * p.itemsize)
             for p in planes]
    packed = np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), np.uint8)
    return np.ascontiguousarray(packed[:, : (bits + 7) // 8])
