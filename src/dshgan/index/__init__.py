"""Binary-code indexes: exact Hamming k-NN and radius search, multi-index hashing, faiss."""

from dshgan.index.file_format import IndexFileError
from dshgan.index.flat import HammingIndex
from dshgan.index.packing import as_binary_codes, pack_codes, unpack_codes
from dshgan.index.registry import create_index, list_indexes, register_index

__all__ = [
    "HammingIndex",
    "IndexFileError",
    "as_binary_codes",
    "create_index",
    "list_indexes",
    "pack_codes",
    "register_index",
    "unpack_codes",
]
