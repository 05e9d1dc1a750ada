"""Inbound webhooks, the shared half: the per-account token check (constant time),
size and JSON checks, store-once by the vendor's event id, and hand-off to Celery.

A vendor supplies a `WebhookHandler` subclass that says how to read its envelope,
which columns its values land in (their sizes are checked at intake) and how to
apply its events.

Text is normalised before anything is stored: lone UTF-16 surrogates (`"\\ud800"`
is valid JSON, but PostgreSQL text and jsonb refuse it) become U+FFFD; NUL is
refused. A value too long for its column is a 400, recorded as an INVALID event,
on every database (SQLite would silently store it, PostgreSQL would fail).
"""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Mapping
from contextlib import nullcontext as _nothing
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, router, transaction

from cobrowse_portal.core.choices import EventStatus
from cobrowse_portal.core.models import VendorAccount, WebhookEvent

#: Where vendors post an account's events; the token segment is a secret, masked in
#: every log line of every process (registered when the vendorkit app is ready, so
#: also in workers that never load the URLconf).
ROUTE = "hooks/<int:account_id>/<secret:token>/"


class InvalidEvent(ValueError):
    """The body is not an event we can read."""


class WebhookHandler:
    """Vendor hook: identify an event and apply a batch of stored events."""

    known_types: frozenset[str] = frozenset()

    #: Where the payload's text values are stored: dotted payload path ->
    #: "app_label.Model.field". Longer values are refused at intake (400, recorded)
    #: instead of failing (PostgreSQL) or being stored whole (SQLite) later.
    columns: Mapping[str, str] = {}

    def identify(self, payload: Any) -> tuple[str, int | None, str]:
        """Return (vendor event id, ordering sequence, event type)."""
        raise NotImplementedError

    def validate(self, payload: Any) -> None:
        """Refuse values that cannot be stored; raise InvalidEvent. The default
        checks `columns`; a vendor may add its own checks."""
        check_sizes(payload, column_limits(type(self)))

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
        if _MAYBE_SURROGATE.search(body):
            payload = normalise_text(payload)
        ext_id, sequence, event_type = handler.identify(payload)
        _check_columns(ext_id, sequence)
        handler.validate(payload)
    # RecursionError: nesting too deep; OverflowError: e.g. int(1e999) in a handler.
    except (
        ValueError,
        InvalidEvent,
        TypeError,
        KeyError,
        RecursionError,
        OverflowError,
    ) as exc:
        detail = str(exc) if isinstance(exc, InvalidEvent) else type(exc).__name__
        reason = f"malformed event: {detail}"[:500]
        return 400, reason, _invalid(account, reason, excerpt)
    known = event_type in handler.known_types
    # One autocommit INSERT (no BEGIN/COMMIT round trips); a duplicate is refused
    # by the unique constraint, in its own savepoint if a transaction is open.
    try:
        with transaction.atomic() if _in_transaction() else _nothing():
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
        from cobrowse_portal.core.tasks import request_webhook_processing

        # One queued drain per account, however many deliveries (coalesced).
        transaction.on_commit(lambda: request_webhook_processing(account.pk))
        return 202, "accepted", event
    return 200, "unknown event type recorded", event


def _in_transaction() -> bool:
    return transaction.get_connection(router.db_for_write(WebhookEvent)).in_atomic_block


def _check_columns(ext_id, sequence) -> None:
    """The event's id and sequence must fit their columns (user input)."""
    if len(str(ext_id)) > 64:
        raise InvalidEvent("event id longer than 64 characters")
    if sequence is not None and not -(2**63) <= sequence < 2**63:
        raise InvalidEvent("sequence out of range")


# A JSON escape of a surrogate, or one encoded as bytes (json.loads decodes bytes
# with "surrogatepass"): only then can the payload hold a lone surrogate.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` with lone surrogates (unstorable anywhere) replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def normalise_text(payload: Any) -> Any:
    """Clean every string (keys too) of a decoded JSON value, without recursion
    (the parser accepts nesting deeper than Python's stack)."""
    if isinstance(payload, str):
        return clean_text(payload)
    stack = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if isinstance(value, str):
                    value = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
                new_key = clean_text(key) if isinstance(key, str) else key
                if new_key != key:
                    del node[key]
                node[new_key] = value
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    node[i] = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
    return payload


@functools.cache
def column_limits(handler_cls: type[WebhookHandler]) -> dict[str, int]:
    """Payload path -> the max_length of the column it lands in (from the models)."""
    limits = {}
    for where, target in handler_cls.columns.items():
        label, field = target.rsplit(".", 1)
        max_length = apps.get_model(label)._meta.get_field(field).max_length
        if max_length:
            limits[where] = max_length
    return limits


def check_sizes(payload: Any, limits: Mapping[str, int]) -> None:
    """Raise InvalidEvent if a value at one of `limits`' paths is not text (or a
    number) or is longer than its column."""
    for where, limit in limits.items():
        value: Any = payload
        for part in where.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        if isinstance(value, dict | list):
            raise InvalidEvent(f"{where} must be text")
        if len(str(value)) > limit:
            raise InvalidEvent(f"{where} longer than {limit} characters")


def _invalid(account: VendorAccount, reason: str, excerpt: str) -> WebhookEvent:
    return WebhookEvent.objects.create(
        account=account, status=EventStatus.INVALID, error=reason, body_excerpt=excerpt
    )
