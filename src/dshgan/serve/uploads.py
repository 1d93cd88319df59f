"""Reading an uploaded image from a multipart/form-data request body, in memory.

Why not FastAPI's ``UploadFile``: it spools each upload above 1 MB into a temporary file, and it
reads the whole body before any size check. Here the body is read as it arrives and refused
(413) as soon as it passes the cap, and the parts are parsed from memory with python-multipart,
so every request holds its own bytes and nothing touches the disk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from dshgan.serve.limits import Refused

# room for the multipart framing and a few small fields around the image part
FRAMING_BYTES = 64 * 1024


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytearray = field(default_factory=bytearray)


async def read_body(chunks: AsyncIterator[bytes], content_length: str | None,
                    max_bytes: int) -> bytes:
    """The request body, refused with 413 once it is larger than ``max_bytes`` (before reading
    anything when the Content-Length header already says so)."""
    if content_length is not None and content_length.isdigit() and \
            int(content_length) > max_bytes:
        raise Refused(413, f"the request is {int(content_length):,} bytes; the limit is "
                      f"{max_bytes:,}")
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise Refused(413, f"the request is larger than the limit of {max_bytes:,} bytes")
    return bytes(body)


def parse_multipart(body: bytes, content_type: str | None) -> list[Part]:
    """The parts of a multipart/form-data body; 415 for any other content type, 422 for a
    malformed body."""
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise Refused(415, "send the image as multipart/form-data (a form field named 'image'), "
                      f"not {content_type or 'a body without a Content-Type'}")
    boundary = params.get(b"boundary")
    if not boundary:
        raise Refused(422, "the multipart/form-data Content-Type has no boundary")
    parts: list[Part] = []
    headers: dict[bytes, bytes] = {}
    header = [b"", b""]

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        headers[header[0].lower()] = header[1]
        header[0], header[1] = b"", b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        filename = options.get(b"filename")
        parts.append(Part(name=options.get(b"name", b"").decode("utf-8", "replace"),
                          filename=None if filename is None
                          else filename.decode("utf-8", "replace"),
                          content_type=headers.get(b"content-type", b"").decode("latin-1")))
        headers.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    parser = MultipartParser(boundary, {
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data})
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise Refused(422, f"malformed multipart/form-data body: {exc}") from exc
    return parts


def image_part(parts: list[Part], max_bytes: int) -> Part:
    """The uploaded image: the part named ``image`` (or the only file part); 422 when there is
    none, 413 when it is larger than ``max_bytes``."""
    named = [p for p in parts if p.name == "image"]
    files = [p for p in parts if p.filename is not None]
    chosen = named or (files if len(files) == 1 else [])
    if not chosen:
        raise Refused(422, "no image in the form: send the file in a field named 'image'")
    part = chosen[0]
    if len(part.data) > max_bytes:
        raise Refused(413, f"the image is {len(part.data):,} bytes; the limit is {max_bytes:,}")
    return part
