"""Sandboxes send the vendor's webhooks to the portal like the vendor would."""

from __future__ import annotations

import json
import logging
import threading

import requests
from django.conf import settings

log = logging.getLogger("cobrowse.sandbox.emit")


def _post(url: str, body: bytes) -> None:
    try:
        requests.post(
            url,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=5,
        )
    except requests.RequestException as exc:
        # A real vendor retries later; the sandbox only logs (redacted by the filter).
        log.info("sandbox webhook to %s failed: %s", url, type(exc).__name__)


def emit(url: str, payload: dict) -> None:
    """POST `payload` to `url` in the background (or inline when configured)."""
    body = json.dumps(payload).encode()
    if getattr(settings, "SANDBOX_WEBHOOKS_INLINE", False):
        _post(url, body)
    else:
        threading.Thread(target=_post, args=(url, body), daemon=True).start()
