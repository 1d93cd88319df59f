"""What the server accepts, and the refusals that name the limit a request broke.

Why its own module: every limit is a number a deployment may want to change and a test wants to
cross, so they live in one place with their HTTP status (413 too large, 415 not an image or a
format we do not decode, 422 a bad parameter, 404 an unknown item). Uploads are decoded from
memory (concurrent requests never share a temporary file), and the pixel count is read from the
header and checked before any pixel is decoded, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 2**20  # one uploaded image file
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # Pillow's own bomb limit (about 89 megapixels)
MIN_K, MAX_K = 1, 1000
# the formats of data/images.IMAGE_EXTENSIONS, as Pillow names them: what training reads
ACCEPTED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "PPM", "TIFF")


class Refused(Exception):
    """A request the server will not serve: an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def open_image(data: bytes, name: str = "the upload",
               max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Bytes -> a decoded PIL image, or ``Refused``: 415 for what is not an image or a format we
    do not read, 413 for more pixels than ``max_pixels`` (checked from the header, before
    decoding; None: no limit of ours, Pillow's own bomb check still applies)."""
    if not data:
        raise Refused(415, f"{name} is empty, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise Refused(413, f"{name} has too many pixels: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Refused(415, f"{name} is not an image this server reads ("
                      f"{', '.join(ACCEPTED_FORMATS)})") from exc
    if image.format not in ACCEPTED_FORMATS:
        raise Refused(415, f"{name} is a {image.format} image; this server reads "
                      f"{', '.join(ACCEPTED_FORMATS)}")
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        raise Refused(413, f"{name} is {width}x{height} = {width * height:,} pixels, more than "
                      f"the limit of {max_pixels:,} (a decompression bomb, or too large)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except Image.DecompressionBombError as exc:
        raise Refused(413, f"{name} has too many pixels: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise Refused(415, f"{name} could not be decoded as {image.format}: {exc}") from exc
    return image


def check_k(k: int) -> int:
    if isinstance(k, bool) or int(k) != k or not MIN_K <= k <= MAX_K:
        raise Refused(422, f"k must be an integer from {MIN_K} to {MAX_K}, got {k}")
    return int(k)


def check_radius(radius: int | None, bits: int) -> int | None:
    if radius is None:
        return None
    if isinstance(radius, bool) or int(radius) != radius or not 0 <= radius <= bits:
        raise Refused(422, f"radius must be an integer from 0 to {bits} (the code length), "
                      f"got {radius}")
    return int(radius)
