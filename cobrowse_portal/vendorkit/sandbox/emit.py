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


def emit(url: str, payload: dict, *, vendor: str = "", account_key: str = "") -> None:
    """POST `payload` to `url` in the background (or inline when configured).
    With the sending sandbox account (`vendor`, `account_key`), its fault
    profile may drop the delivery (`faults.drop_delivery`): nothing is sent."""
    if vendor and account_key:
        from .faults import drop_delivery

        if drop_delivery(vendor, account_key):
            log.info("sandbox webhook to %s dropped (fault profile)", url)
            return
    body = json.dumps(payload).encode()
    if getattr(settings, "SANDBOX_WEBHOOKS_INLINE", False):
        _post(url, body)
    else:
        threading.Thread(target=_post, args=(url, body), daemon=True).start()
