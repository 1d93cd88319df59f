"""Multipart bodies parsed in memory (binary bytes kept exactly), the body cap enforced while
reading, and the choice of the image part."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from dshgan.serve.limits import Refused
from dshgan.serve.uploads import image_part, parse_multipart, read_body


def multipart(files=None, data=None) -> tuple[bytes, str]:
    """A body and Content-Type as a real client (httpx) writes them."""
    request = httpx.Request("POST", "http://x/", files=files, data=data)
    return request.read(), request.headers["content-type"]


def test_parts_come_back_byte_for_byte():
    rng = np.random.default_rng(0)
    payload = rng.integers(0, 256, 70_000, np.uint8).tobytes() + b"\r\n--\r\n\r\n"
    body, content_type = multipart(files={"image": ("a b.jpg", payload, "image/jpeg")},
                                   data={"k": "5"})
    parts = parse_multipart(body, content_type)
    by_name = {p.name: p for p in parts}
    assert bytes(by_name["image"].data) == payload
    assert by_name["image"].filename == "a b.jpg"
    assert by_name["image"].content_type == "image/jpeg"
    assert bytes(by_name["k"].data) == b"5" and by_name["k"].filename is None


def test_the_image_part_is_the_field_named_image_or_the_only_file():
    body, ct = multipart(files={"upload": ("x.png", b"123", "image/png")}, data={"k": "1"})
    assert bytes(image_part(parse_multipart(body, ct), 10).data) == b"123"
    body, ct = multipart(files={"a": ("a.png", b"1"), "b": ("b.png", b"2")})
    with pytest.raises(Refused) as err:
        image_part(parse_multipart(body, ct), 10)
    assert err.value.status == 422
    body, ct = multipart(files={"image": ("x.png", b"12345678901")})
    with pytest.raises(Refused) as err:
        image_part(parse_multipart(body, ct), 10)
    assert err.value.status == 413


@pytest.mark.parametrize("content_type,status", [
    (None, 415), ("image/png", 415), ("application/json", 415), ("multipart/form-data", 422)])
def test_other_bodies_are_refused(content_type, status):
    with pytest.raises(Refused) as err:
        parse_multipart(b"whatever", content_type)
    assert err.value.status == status


async def chunks(data: bytes, size: int, seen: list):
    for i in range(0, len(data), size):
        seen.append(i)
        yield data[i:i + size]


def test_read_body_stops_at_the_cap():
    seen: list = []
    data = b"x" * 1000
    assert asyncio.run(read_body(chunks(data, 100, seen), None, 1000)) == data
    seen.clear()
    with pytest.raises(Refused) as err:
        asyncio.run(read_body(chunks(data, 100, seen), None, 250))
    assert err.value.status == 413 and len(seen) == 3  # stopped at the first chunk over
    seen.clear()
    with pytest.raises(Refused) as err:  # a declared length over the cap: nothing is read
        asyncio.run(read_body(chunks(data, 100, seen), "1000", 999))
    assert err.value.status == 413 and seen == []
