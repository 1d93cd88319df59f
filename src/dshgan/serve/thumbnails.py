"""Small JPEG thumbnails of indexed images, made from the index's own files.

Why here and not the original files: a search page shows dozens of results, and the originals
may be large photos; a thumbnail is a few kilobytes. The file is always the one the index
records for an item id (a request names an id, never a path), and the index is read-only while
serving, so a thumbnail, once made, is kept in a bounded in-memory cache.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image, ImageOps

from dshgan.serve.limits import MAX_PIXELS, Refused, open_image

THUMBNAIL_SIZE = 160  # longest side, pixels
JPEG_QUALITY = 85
CACHE_BYTES = 64 * 2**20


def make_thumbnail(path: str | Path, size: int = THUMBNAIL_SIZE,
                   max_pixels: int | None = MAX_PIXELS) -> bytes:
    """JPEG bytes of the image at ``path``, at most ``size`` pixels on its longest side (small
    images are scaled up so the page's grid stays even; pixel art stays sharp with NEAREST)."""
    data = Path(path).read_bytes()
    image = open_image(data, Path(path).name, max_pixels)
    image = ImageOps.exif_transpose(image).convert("RGB")
    scale = size / max(image.size)
    new_size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    resample = Image.NEAREST if scale >= 2 else Image.BILINEAR if scale > 1 else Image.LANCZOS
    image = image.resize(new_size, resample)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


class ThumbnailCache:
    """id -> thumbnail bytes, least recently used dropped beyond ``max_bytes``."""

    def __init__(self, max_bytes: int = CACHE_BYTES, size: int = THUMBNAIL_SIZE,
                 max_pixels: int | None = MAX_PIXELS):
        self.max_bytes = max_bytes
        self.size = size
        self.max_pixels = max_pixels
        self._items: OrderedDict[int, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, id: int, path: str | Path) -> bytes:
        """The thumbnail of item ``id`` whose file is ``path``; Refused(404) when the file is
        gone or cannot be read."""
        with self._lock:
            if id in self._items:
                self._items.move_to_end(id)
                return self._items[id]
        try:
            data = make_thumbnail(path, self.size, self.max_pixels)
        except FileNotFoundError as exc:
            raise Refused(404, f"the image file of item {id} is no longer there") from exc
        except (OSError, Refused) as exc:
            raise Refused(404, f"no thumbnail for item {id}: "
                          f"{getattr(exc, 'message', None) or exc}") from exc
        with self._lock:
            if id not in self._items and len(data) <= self.max_bytes:
                self._items[id] = data
                self._bytes += len(data)
                while self._bytes > self.max_bytes:
                    _, dropped = self._items.popitem(last=False)
                    self._bytes -= len(dropped)
        return data
