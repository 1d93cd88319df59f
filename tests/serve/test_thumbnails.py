"""Thumbnails: size and aspect kept, JPEG, pixel art scaled up sharp, a bounded cache, a missing
or unreadable file as 404."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dshgan.serve.limits import Refused
from dshgan.serve.thumbnails import ThumbnailCache, make_thumbnail


@pytest.mark.parametrize("size", [(600, 300), (30, 40), (160, 160)])
def test_longest_side_is_the_thumbnail_size(tmp_path, size):
    path = tmp_path / "a.png"
    Image.new("RGB", size, (10, 200, 30)).save(path)
    with Image.open(io.BytesIO(make_thumbnail(path, 160))) as t:
        assert t.format == "JPEG" and max(t.size) == 160
        assert t.size[0] / t.size[1] == pytest.approx(size[0] / size[1], rel=0.02)
        assert np.abs(np.array(t).astype(int) - (10, 200, 30)).max() <= 3


def test_small_images_scale_up_without_blurring(tmp_path):
    checker = (np.indices((8, 8)).sum(0) % 2 * 255).astype(np.uint8)
    path = tmp_path / "c.png"
    Image.fromarray(np.stack([checker] * 3, -1)).save(path)
    with Image.open(io.BytesIO(make_thumbnail(path, 160))) as t:
        cell = np.array(t.convert("L"))[2:18, 2:18]  # one 20-pixel cell, away from the edges
        assert cell.std() < 8  # flat, not a blend of black and white


def test_cache_reuses_and_stays_within_its_bytes(tmp_path):
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"{i}.png")
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), np.uint8)).save(paths[-1])
    one = len(make_thumbnail(paths[0], 64))
    cache = ThumbnailCache(max_bytes=3 * one + one // 2, size=64)
    first = cache.get(0, paths[0])
    assert cache.get(0, paths[0]) is first
    for i in range(1, 6):
        cache.get(i, paths[i])
    assert cache._bytes <= cache.max_bytes and 0 not in cache._items and 5 in cache._items


def test_missing_or_unreadable_files_are_404(tmp_path):
    cache = ThumbnailCache()
    with pytest.raises(Refused) as err:
        cache.get(3, tmp_path / "gone.png")
    assert err.value.status == 404 and "no longer there" in err.value.message
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(Refused) as err:
        cache.get(4, tmp_path / "bad.png")
    assert err.value.status == 404
