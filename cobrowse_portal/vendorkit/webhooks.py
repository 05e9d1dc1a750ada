"""Inbound webhooks, the shared half: the per-account token check (constant time),
size and JSON checks, store-once by the vendor's event id, and hand-off to Celery.

A vendor supplies a `WebhookHandler` subclass that says how to read its envelope
and how to apply its events.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from cobrowse_portal.core.choices import EventStatus
from cobrowse_portal.core.models import VendorAccount, WebhookEvent


class InvalidEvent(ValueError):
    """The body is not an event we can read."""


class WebhookHandler:
    """Vendor hook: identify an event and apply a batch of stored events."""

    known_types: frozenset[str] = frozenset()

    def identify(self, payload: Any) -> tuple[str, int | None, str]:
        """Return (vendor event id, ordering sequence, event type)."""
        raise NotImplementedError

    def apply(self, account: VendorAccount, event: WebhookEvent) -> None:
        raise NotImplementedError


def token_matches(account: VendorAccount | None, token: str) -> bool:
    expected = account.webhook_token if account else "x" * 43
    ok = hmac.compare_digest(expected.encode(), token.encode())
    return ok and account is not None


def receive(
    account: VendorAccount, body: bytes
) -> tuple[int, str, WebhookEvent | None]:
    """Validate and store one delivery. Returns (HTTP status, message, event)."""
    handler = account.spec.webhooks
    # PostgreSQL text and jsonb cannot hold NUL characters.
    excerpt = body[:500].decode("utf-8", "replace").replace("\x00", "\ufffd")
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return 400, "body too large", _invalid(account, "body too large", excerpt)
    try:
        if b"\\u0000" in body or b"\x00" in body:
            raise InvalidEvent("NUL characters are not accepted")
        payload = json.loads(body)
        ext_id, sequence, event_type = handler.identify(payload)
        _check_columns(ext_id, sequence)
    # RecursionError: nesting too deep; OverflowError: e.g. int(1e999) in a handler.
    except (
        ValueError,
        InvalidEvent,
        TypeError,
        KeyError,
        RecursionError,
        OverflowError,
    ) as exc:
        reason = f"malformed event: {type(exc).__name__}"
        return 400, reason, _invalid(account, reason, excerpt)
    known = event_type in handler.known_types
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                account=account,
                external_id=str(ext_id),
                sequence=sequence,
                event_type=event_type[:80],
                payload=payload,
                status=EventStatus.RECEIVED if known else EventStatus.IGNORED,
                error="" if known else "unknown event type",
            )
    except IntegrityError:
        return 200, "duplicate ignored", None
    if known:
        from cobrowse_portal.core.tasks import process_webhook_events

        transaction.on_commit(lambda: process_webhook_events.delay(account.pk))
        return 202, "accepted", event
    return 200, "unknown event type recorded", event


def _check_columns(ext_id, sequence) -> None:
    """The event's id and sequence must fit their columns (user input)."""
    if len(str(ext_id)) > 64:
        raise InvalidEvent("event id longer than 64 characters")
    if sequence is not None and not -(2**63) <= sequence < 2**63:
        raise InvalidEvent("sequence out of range")


def _invalid(account: VendorAccount, reason: str, excerpt: str) -> WebhookEvent:
    return WebhookEvent.objects.create(
        account=account, status=EventStatus.INVALID, error=reason, body_excerpt=excerpt
    )
