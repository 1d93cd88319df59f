"""Format version 2: codes plus a metadata section, one checked file; version 1 still reads."""

import struct
import zlib

import numpy as np
import pytest

from dshgan.index import HammingIndex, IndexFileError, file_format
from dshgan.index.file_format import HEADER_SIZE

META = {"paths": ["a/1.jpg", "b/ü.png"], "fingerprint": {"bits": 20}, "n": [1, 2.5, None]}


def saved(tmp_path, rng, ref, metadata=META, bits=20, n=300):
    index = HammingIndex(bits)
    index.add(ref.random_codes(rng, n, bits), ids=rng.permutation(10 * n)[:n])
    path = tmp_path / "codes.dshx"
    index.save(path, metadata=metadata)
    return index, path


def version_of(path) -> int:
    return struct.unpack("<I", path.read_bytes()[8:12])[0]


@pytest.mark.parametrize("mmap", [False, True])
def test_round_trip_with_metadata(mmap, tmp_path, rng, ref):
    index, path = saved(tmp_path, rng, ref)
    assert version_of(path) == 2
    loaded, metadata = HammingIndex.load_with_metadata(path, mmap=mmap)
    assert metadata == META
    np.testing.assert_array_equal(loaded.ids, index.ids)
    np.testing.assert_array_equal(loaded.codes(), index.codes())
    q = ref.random_codes(rng, 5, 20)
    ref.same(loaded.search(q, 7), index.search(q, 7))
    assert len(HammingIndex.load(path)) == 300  # plain load ignores the metadata


def test_without_metadata_writes_version_1(tmp_path, rng, ref):
    _, path = saved(tmp_path, rng, ref, metadata=None)
    assert version_of(path) == 1
    assert HammingIndex.load_with_metadata(path)[1] is None


def test_version_1_reader_refuses_version_2(tmp_path, rng, ref, monkeypatch):
    _, path = saved(tmp_path, rng, ref)
    monkeypatch.setattr(file_format, "VERSION", 1)
    with pytest.raises(IndexFileError, match="version 2"):
        HammingIndex.load(path)


def test_truncated_and_corrupt_metadata(tmp_path, rng, ref):
    _, path = saved(tmp_path, rng, ref)
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) - 20):
        bad = tmp_path / f"cut{cut}"
        bad.write_bytes(data[:cut])
        with pytest.raises(IndexFileError, match=f"{bad.name} is truncated"):
            HammingIndex.load(bad)
    flipped = bytearray(data)
    flipped[-2] ^= 0x04  # inside the compressed JSON
    (tmp_path / "flipped").write_bytes(flipped)
    with pytest.raises(IndexFileError, match="payload checksum"):
        HammingIndex.load(tmp_path / "flipped")


def rechecksum(data: bytearray) -> bytearray:
    data[48:52] = struct.pack("<I", zlib.crc32(bytes(data[HEADER_SIZE:])))
    data[52:56] = struct.pack("<I", zlib.crc32(bytes(data[:52])))
    return data


def test_bad_metadata_refused_even_with_good_checksums(tmp_path, rng, ref):
    _, path = saved(tmp_path, rng, ref)
    data = bytearray(path.read_bytes())
    codes_end = file_format._payload_end(20, 300)
    wrong_length = bytearray(data)
    wrong_length[codes_end:codes_end + 8] = struct.pack("<Q", 3)
    (tmp_path / "length").write_bytes(rechecksum(wrong_length))
    with pytest.raises(IndexFileError, match="metadata length"):
        HammingIndex.load(tmp_path / "length")
    section = zlib.compress(b"[1, 2]")  # JSON, but not an object
    not_object = data[:codes_end] + struct.pack("<Q", len(section)) + section
    not_object[40:48] = struct.pack("<Q", len(not_object) - HEADER_SIZE)
    (tmp_path / "list").write_bytes(rechecksum(not_object))
    with pytest.raises(IndexFileError, match="not a JSON object"):
        HammingIndex.load(tmp_path / "list")
    garbage = data[:codes_end] + struct.pack("<Q", 4) + b"\x00\x01\x02\x03"
    garbage[40:48] = struct.pack("<Q", len(garbage) - HEADER_SIZE)
    (tmp_path / "garbage").write_bytes(rechecksum(garbage))
    with pytest.raises(IndexFileError, match="unreadable metadata"):
        HammingIndex.load(tmp_path / "garbage")


def test_metadata_must_be_a_dict(tmp_path):
    with pytest.raises(TypeError, match="dict"):
        HammingIndex(8).save(tmp_path / "x", metadata=["a"])
