"""Screenshots the sandbox can show: a PNG of a made-up web page per session.

Surfly answers "latest screenshot" with the URL of an image on its storage. The
sandbox serves its own images instead (drawn by `vendorkit.sandbox.images`):
colours and layout come from the session id (so every session looks different),
and the page scrolls a little every 30 seconds, as a visitor would, so a newer
screenshot is a different picture.
"""

from __future__ import annotations

import time

from cobrowse_portal.vendorkit.sandbox.images import HEIGHT, WIDTH, page_png

__all__ = ["HEIGHT", "WIDTH", "screenshot_png"]


def screenshot_png(session_id: str, now: float | None = None) -> bytes:
    """The current "screenshot" of session `session_id`."""
    return page_png(session_id, int((time.time() if now is None else now) // 30))
