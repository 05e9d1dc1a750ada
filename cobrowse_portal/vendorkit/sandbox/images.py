"""Pictures a sandbox can serve: a PNG of a made-up web page, drawn with nothing
but zlib and struct (no image library).

A browser window with a site header, a hero banner with a button and three
content cards. Colours and layout come from a key (a session id, a recording), the
scroll position and the pointer from a tick, so every key looks different and a
later tick is a different picture. Vendors serve these as screenshots (Surfly)
and screen-recording thumbnails and images (SameSurf), at any size.
"""

from __future__ import annotations

import hashlib
import random
import struct
import zlib

WIDTH, HEIGHT = 800, 500
PALETTE = [  # (header, accent) pairs that read well together
    ((33, 82, 155), (242, 153, 74)),
    ((19, 120, 106), (250, 204, 21)),
    ((124, 58, 237), (236, 72, 153)),
    ((190, 18, 60), (30, 41, 59)),
    ((15, 23, 42), (56, 189, 248)),
    ((180, 83, 9), (22, 101, 52)),
]
WHITE, PAGE, CHROME = (255, 255, 255), (247, 248, 250), (222, 224, 228)
INK, LINE = (51, 65, 85), (203, 213, 225)
Color = tuple[int, int, int]


class Canvas:
    """An RGB image in memory, drawn with filled rectangles."""

    def __init__(
        self,
        width: int,
        height: int,
        background: Color,
        scale: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        self.width, self.height = width, height
        self.sx, self.sy = scale  # drawing coordinates -> pixels
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        if (self.sx, self.sy) != (1.0, 1.0):
            x0, x1 = (
                round(x0 * self.sx),
                max(round(x1 * self.sx), round(x0 * self.sx) + 1),
            )
            y0, y1 = (
                round(y0 * self.sy),
                max(round(y1 * self.sy), round(y0 * self.sy) + 1),
            )
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1:
            return
        run = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start : start + len(run)] = run

    def png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride])
            for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 6))
            + _chunk(b"IEND", b"")
        )


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def _tint(color: Color, amount: float) -> Color:
    """`color` mixed with white (amount 0: as is, 1: white)."""
    return tuple(round(c + (255 - c) * amount) for c in color)  # type: ignore[return-value]


def page_png(
    key: str, tick: int, width: int = WIDTH, height: int | None = None
) -> bytes:
    """A PNG of a made-up web page: its look comes from `key`, its scroll
    position and pointer from `tick`; drawn at `width` x `height` (the height
    follows the width's scale when not given)."""
    digest = hashlib.sha256(key.encode()).digest()
    rng = random.Random(digest)
    header, accent = PALETTE[digest[0] % len(PALETTE)]
    scroll = (tick * 37) % 90  # the visitor scrolls a bit between shots
    if height is None:
        height = max(1, round(HEIGHT * width / WIDTH))
    c = Canvas(width, height, PAGE, scale=(width / WIDTH, height / HEIGHT))

    # Browser window: tab strip, three window buttons, address bar.
    c.rect(0, 0, WIDTH, 38, CHROME)
    for i, dot in enumerate(((239, 68, 68), (234, 179, 8), (34, 197, 94))):
        c.rect(12 + i * 18, 14, 24 + i * 18, 26, dot)
    c.rect(80, 8, 640, 30, WHITE)
    c.rect(92, 16, 92 + rng.randrange(160, 380), 22, LINE)

    top = 38 - scroll
    # Site header with a logo and navigation.
    c.rect(0, top, WIDTH, top + 56, header)
    c.rect(24, top + 16, 64, top + 40, accent)
    x = 420
    for _ in range(4):
        width = rng.randrange(40, 70)
        c.rect(x, top + 25, x + width, top + 31, _tint(header, 0.6))
        x += width + 24
    # Hero banner: headline, two lines of text, a call-to-action button.
    hero = top + 56
    c.rect(0, hero, WIDTH, hero + 150, _tint(header, 0.85))
    c.rect(48, hero + 34, 48 + rng.randrange(300, 460), hero + 52, INK)
    c.rect(48, hero + 66, 48 + rng.randrange(380, 520), hero + 74, _tint(INK, 0.5))
    c.rect(48, hero + 82, 48 + rng.randrange(260, 420), hero + 90, _tint(INK, 0.5))
    c.rect(48, hero + 106, 48 + 132, hero + 132, accent)
    c.rect(620, hero + 24, 752, hero + 130, _tint(accent, 0.55))
    # Three cards of text lines.
    cards = hero + 178
    for col in range(3):
        x0 = 32 + col * 250
        c.rect(x0, cards, x0 + 232, cards + 210, WHITE)
        c.rect(x0, cards, x0 + 232, cards + 4, accent if col == 1 else header)
        c.rect(x0 + 16, cards + 22, x0 + 16 + rng.randrange(90, 170), cards + 32, INK)
        for line in range(8):
            y = cards + 48 + line * 18
            c.rect(x0 + 16, y, x0 + 16 + rng.randrange(120, 200), y + 6, LINE)
    # The visitor's pointer, somewhere new each time.
    px, py = 60 + (tick * 131) % 660, 120 + (tick * 71) % 320
    for row in range(14):
        c.rect(px, py + row, px + 1 + row * 9 // 13, py + row + 1, INK)
    return c.png()
