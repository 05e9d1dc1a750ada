"""Screenshots in the demo: the sandbox serves real PNGs, the page shows them.

Through the UI (Django test client) against the sandbox on the live server.
"""

from __future__ import annotations

import re
import struct
import zlib
from html import unescape

import requests

from tests.conftest import sandbox_account
from vendors.surfly import services
from vendors.surfly.sandbox.models import SandboxSession
from vendors.surfly.sandbox.screenshots import screenshot_png

from .conftest import SANDBOX

HX = {"HTTP_HX_REQUEST": "true"}


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a well-formed PNG (signature, IHDR, IDAT that inflates)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, tag = struct.unpack(">I4s", data[8:16])
    assert tag == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    idat = data.index(b"IDAT")
    (size,) = struct.unpack(">I", data[idat - 4 : idat])
    pixels = zlib.decompress(data[idat + 4 : idat + 4 + size])
    assert len(pixels) == height * (1 + width * 3)
    return width, height


def test_each_session_gets_its_own_picture_and_it_changes_over_time():
    one, other = screenshot_png("session-one", now=0), screenshot_png("session-two", 0)
    assert _png_size(one) == (800, 500)
    assert one != other
    assert screenshot_png("session-one", now=0) == one  # the same moment: the same
    assert screenshot_png("session-one", now=60) != one  # the visitor scrolled


@SANDBOX
def test_session_page_shows_the_sandbox_screenshot(
    reseller, live_server, seeded, personas, login
):
    account = sandbox_account(reseller, live_server.url)
    session = services.start_session(account, url="https://shop.example.com/")
    client = login(personas["agent"])
    page = client.get(f"/v/surfly/{account.pk}/sessions/{session.pk}/")
    assert page.status_code == 200
    # The sandbox is plain http on the live server's host: the page allows it.
    assert live_server.url in page["Content-Security-Policy"]
    assert 'name="interval"' in page.content.decode()

    shot_url = f"/v/surfly/{account.pk}/sessions/{session.pk}/screenshot/"
    first = client.post(shot_url, {"size": "1024", "interval": "30"}, **HX)
    body = first.content.decode()
    assert first.status_code == 200
    assert "first screenshot" in body or "<img" in body
    again = client.post(shot_url, {"size": "", "interval": ""}, **HX).content.decode()
    src = unescape(re.search(r'<img class="screenshot" src="([^"]+)"', again)[1])
    assert src.startswith(f"{live_server.url}/sandbox/surfly/screenshots/")
    assert "Screenshot of the visitor's page" in again
    assert "every 30 seconds" in again and "generation-started" not in again

    image = requests.get(src, timeout=10)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert _png_size(image.content) == (800, 500)

    other = services.start_session(account, url="https://www.example.com/pricing")
    client.post(f"/v/surfly/{account.pk}/sessions/{other.pk}/screenshot/", **HX)
    other_page = client.post(
        f"/v/surfly/{account.pk}/sessions/{other.pk}/screenshot/", **HX
    ).content.decode()
    other_src = unescape(re.search(r'src="([^"]+\.png[^"]*)"', other_page)[1])
    assert requests.get(other_src, timeout=10).content != image.content


@SANDBOX
def test_a_bad_interval_is_refused_before_surfly_is_asked(
    reseller, live_server, seeded, personas, login
):
    account = sandbox_account(reseller, live_server.url)
    session = services.start_session(account, url="https://shop.example.com/")
    response = login(personas["agent"]).post(
        f"/v/surfly/{account.pk}/sessions/{session.pk}/screenshot/",
        {"interval": "2"},
        **HX,
    )
    assert response.status_code == 200
    assert "greater than or equal to 5" in response.content.decode()
    sandboxed = SandboxSession.objects.get(session_id=session.external_id)
    assert sandboxed.screenshots_started is None  # Surfly was not asked


@SANDBOX
def test_no_image_for_a_session_without_screenshots(live_server, seeded):
    response = requests.get(
        f"{live_server.url}/sandbox/surfly/screenshots/no-such-session.png", timeout=10
    )
    assert response.status_code == 404
