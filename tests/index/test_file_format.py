"""Save/load round trips; truncated, foreign, newer and corrupt files are refused clearly;
save never leaves half a file where a good one was."""

import os
import struct
import zlib

import numpy as np
import pytest

from dshgan.index import HammingIndex, IndexFileError, file_format
from dshgan.index.file_format import HEADER_SIZE


def saved(tmp_path, rng, ref, bits=20, n=300, **kwargs):
    index = HammingIndex(bits, **kwargs)
    index.add(ref.random_codes(rng, n, bits), ids=rng.permutation(10 * n)[:n])
    path = tmp_path / "codes.dshx"
    index.save(path)
    return index, path


@pytest.mark.parametrize("bits", [1, 12, 48, 64, 65, 200])
@pytest.mark.parametrize("mmap", [False, True])
def test_round_trip(bits, mmap, tmp_path, rng, ref):
    index, path = saved(tmp_path, rng, ref, bits=bits)
    index.remove(index.ids[:5])
    index.save(path)
    loaded = HammingIndex.load(path, mmap=mmap)
    assert loaded.bits == bits and len(loaded) == len(index)
    np.testing.assert_array_equal(loaded.ids, index.ids)
    np.testing.assert_array_equal(loaded.codes(packed=True), index.codes(packed=True))
    q = ref.random_codes(rng, 7, bits)
    ref.same(loaded.search(q, 10), index.search(q, 10))
    ref.same(loaded.range_search(q, bits // 3), index.range_search(q, bits // 3))
    loaded.add(q)  # a mapped index still takes new codes (they live in memory)
    index.add(q)
    np.testing.assert_array_equal(loaded.ids, index.ids)  # the id counter survived


def test_round_trip_empty_and_multi_index(tmp_path):
    path = tmp_path / "empty.dshx"
    HammingIndex(7, multi_index=2).save(path)
    loaded = HammingIndex.load(path)
    assert len(loaded) == 0 and loaded.bits == 7 and loaded.multi_index == 2
    assert (loaded.search(np.zeros((1, 7), np.uint8), 3)[1] == -1).all()


def test_truncated_files(tmp_path, rng, ref):
    _, path = saved(tmp_path, rng, ref)
    data = path.read_bytes()
    for cut in (0, 5, HEADER_SIZE - 1, HEADER_SIZE + 10, len(data) - 1):
        bad = tmp_path / f"cut{cut}"
        bad.write_bytes(data[:cut])
        with pytest.raises(IndexFileError, match="truncated"):
            HammingIndex.load(bad)


def test_foreign_files(tmp_path):
    npy = tmp_path / "array.npy"
    np.save(npy, np.arange(100))
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    for bad in (npy, txt):
        with pytest.raises(IndexFileError, match="not a dshgan index"):
            HammingIndex.load(bad)


def test_corrupt_payload_and_header(tmp_path, rng, ref):
    _, path = saved(tmp_path, rng, ref)
    data = bytearray(path.read_bytes())
    payload = bytearray(data)
    payload[-3] ^= 0x10  # one bit of one code
    (tmp_path / "payload").write_bytes(payload)
    with pytest.raises(IndexFileError, match="payload checksum"):
        HammingIndex.load(tmp_path / "payload")
    with pytest.raises(IndexFileError, match="payload checksum"):
        HammingIndex.load(tmp_path / "payload", mmap=True)
    header = bytearray(data)
    header[16] ^= 0x01  # the bit count
    (tmp_path / "header").write_bytes(header)
    with pytest.raises(IndexFileError, match="header checksum"):
        HammingIndex.load(tmp_path / "header")
    (tmp_path / "trailing").write_bytes(bytes(data) + b"\0")
    with pytest.raises(IndexFileError, match="trailing"):
        HammingIndex.load(tmp_path / "trailing")


def test_newer_version_refused(tmp_path, rng, ref):
    _, path = saved(tmp_path, rng, ref)
    data = bytearray(path.read_bytes())
    data[8:12] = struct.pack("<I", file_format.VERSION + 1)
    data[52:56] = struct.pack("<I", zlib.crc32(bytes(data[:52])))
    path.write_bytes(data)
    with pytest.raises(IndexFileError, match="version"):
        HammingIndex.load(path)


def test_corrupt_ids_refused_even_with_good_checksums(tmp_path, rng, ref):
    _, path = saved(tmp_path, rng, ref, n=4)
    data = bytearray(path.read_bytes())
    data[HEADER_SIZE : HEADER_SIZE + 16] = struct.pack("<qq", 5, 5)  # duplicated ids
    crc = zlib.crc32(bytes(data[HEADER_SIZE:]))
    data[48:52] = struct.pack("<I", crc)
    data[52:56] = struct.pack("<I", zlib.crc32(bytes(data[:52])))
    path.write_bytes(data)
    with pytest.raises(IndexFileError, match="ids"):
        HammingIndex.load(path)


@pytest.mark.parametrize("failure", ["during_write", "at_rename"])
def test_save_is_atomic(failure, tmp_path, rng, ref, monkeypatch):
    index, path = saved(tmp_path, rng, ref)
    good = path.read_bytes()
    index.add(ref.random_codes(rng, 50, 20))

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    target = "crc32" if failure == "during_write" else "replace"
    module = file_format.zlib if failure == "during_write" else file_format.os
    monkeypatch.setattr(module, target, boom)
    with pytest.raises(OSError, match="disk on fire"):
        index.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == good  # the old index is untouched
    assert sorted(os.listdir(tmp_path)) == ["codes.dshx"]  # and no temporary file is left
    assert len(HammingIndex.load(path)) == 300


def test_mapped_index_saved_over_its_own_file(tmp_path, rng, ref):
    _, path = saved(tmp_path, rng, ref, bits=64)
    mapped = HammingIndex.load(path, mmap=True)
    mapped.remove(mapped.ids[:10])
    mapped.save(path)  # replaces the file the mapping came from
    again = HammingIndex.load(path)
    assert len(again) == 290
    np.testing.assert_array_equal(again.codes(), mapped.codes())
    q = ref.random_codes(rng, 3, 64)
    ref.same(again.search(q, 5), mapped.search(q, 5))
