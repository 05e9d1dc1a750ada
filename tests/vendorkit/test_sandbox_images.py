"""The sandboxes' shared page pictures: real PNGs, at any size, one look per key."""

from __future__ import annotations

import struct
import zlib

import pytest

from cobrowse_portal.vendorkit.sandbox.images import HEIGHT, WIDTH, page_png


def size_of(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def pixels(png: bytes) -> bytes:
    start = png.index(b"IDAT") + 4
    length = struct.unpack(">I", png[start - 8 : start - 4])[0]
    return zlib.decompress(png[start : start + length])


@pytest.mark.parametrize(
    ("args", "expected"),
    [((), (WIDTH, HEIGHT)), ((400,), (400, 250)), ((300, 100), (300, 100))],
)
def test_a_page_is_drawn_at_the_size_asked(args, expected):
    png = page_png("room-1", 0, *args)
    assert size_of(png) == expected
    width, height = expected
    assert len(pixels(png)) == height * (1 + 3 * width)  # decodes whole


def test_the_key_decides_the_look_and_the_tick_the_moment():
    assert page_png("a", 1) == page_png("a", 1)
    assert page_png("a", 1) != page_png("b", 1)
    assert page_png("a", 1) != page_png("a", 2)
    # A small copy is the same page, not an empty canvas: it has several colours.
    small = pixels(page_png("a", 1, 120))
    assert len({small[i : i + 3] for i in range(1, len(small) - 3, 3)}) > 5
