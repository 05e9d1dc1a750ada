"""Surfly's webhooks, sent by the sandbox like Surfly sends them.

Envelope `{sequence_id, type, data}` (vendor-apis.md §1.6): `sequence_id`
increases with every event of a company, `type` is the event name and `data`
depends on it. Each event goes to every enabled webhook of the company whose
`category` is that event name. Deliveries leave after the database commit, so
a receiver that calls back finds the session already there.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F

from cobrowse_portal.vendorkit.sandbox.emit import emit
from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from .api import VENDOR
from .models import Company, SandboxSession, Webhook
from .records import iso

CATEGORIES = ("session.queued", "session.started", "session.ended")


def event_data(event_type: str, s: SandboxSession) -> dict[str, Any]:
    """The documented `data` fields of each session event."""
    if event_type == "session.ended":
        return {
            "session_id": s.session_id,
            "pin": s.pin,
            "tags": list(s.tags),
            "meta": s.meta,
            "start_time": iso(s.start_time),
            "end_time": iso(s.end_time),
            "duration": s.duration,
        }
    data = {
        "session_id": s.session_id,
        "leader_link": s.leader_link,
        "follower_link": s.follower_link,
        "pin": s.pin,
        "tags": list(s.tags),
        "meta": s.meta,
        "start_time": iso(s.start_time),
    }
    if event_type == "session.started":
        del data["pin"]  # not among session.started's documented fields
    return data


def publish(company: Company, event_type: str, s: SandboxSession) -> int:
    """Number the event and send it to the matching webhooks after commit."""
    with transaction.atomic(using=ALIAS):
        Company.objects.filter(pk=company.pk).update(
            webhook_sequence=F("webhook_sequence") + 1
        )
        sequence = Company.objects.values_list("webhook_sequence", flat=True).get(
            pk=company.pk
        )
        urls = list(
            Webhook.objects.filter(
                company=company, category=event_type, enabled=True
            ).values_list("url", flat=True)
        )
        payload = {
            "sequence_id": sequence,
            "type": event_type,
            "data": event_data(event_type, s),
        }
        for url in urls:
            transaction.on_commit(
                partial(emit, url, payload, vendor=VENDOR, account_key=company.api_key),
                using=ALIAS,
            )
    return sequence
