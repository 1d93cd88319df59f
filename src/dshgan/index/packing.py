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
