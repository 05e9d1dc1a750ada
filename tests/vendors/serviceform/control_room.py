"""The control-room declarations of Serviceform's rows, and rows as the sync
stores them, for the model, activity and admin tests.

Serviceform's VendorSpec is declared in apps.py with the client; this fixture
uses it when it carries the source below, and otherwise registers a stand-in
spec with exactly these declarations for the test (and restores the registry
after), so these tests run on a branch without the client too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import get_resolver

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit import registry

P = "vendors.serviceform"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

#: What apps.py's VendorSpec declares (`activities=`; no `agents=`: see
#: vendors/serviceform/activity.py).
ACTIVITIES = (
    registry.ActivitySource(
        model="serviceform.ServiceformChat",
        kind=ActivityKind.CHAT,
        map=f"{P}.activity.chat_activity",
    ),
)
AGENTS: tuple = ()


@pytest.fixture
def serviceform_spec():
    declared = registry._registry.get("serviceform")
    if declared is not None and declared.activities:
        assert declared.activities == ACTIVITIES and tuple(declared.agents) == AGENTS
        yield declared
        return
    # The root URLconf includes every registered vendor's urls: load it first
    # (a stand-in has no pages; the index then links nowhere).
    get_resolver().url_patterns  # noqa: B018
    spec = registry.VendorSpec(
        slug="serviceform",
        label="Serviceform",
        client_class=f"{P}.client.ServiceformClient",
        default_base_url="https://link.serviceform.com",
        credential_fields=(),
        activities=ACTIVITIES,
        agents=AGENTS,
    )
    registry.register(spec)
    try:
        yield spec
    finally:
        if declared is None:
            registry._registry.pop("serviceform", None)
        else:
            registry._registry["serviceform"] = declared
        registry._sources.clear()


def chat_row(i=1, *, status="ended", length=300, **extra) -> dict:
    """A chat as the sync stores it (the fields of ServiceformChat)."""
    ended = status == "ended"
    row = {
        "external_id": f"chat{i}",
        "visitor_uid": f"user{i}",
        "session_id": f"session{i}",
        "site_id": "site1",
        "site_name": "Shop",
        "source": "website",
        "team": "Support",
        "page_url": "https://shop.example/support",
        "visitor_name": f"Jane Doe {i}",
        "visitor_email": f"jane{i}@shop.example",
        "visitor_phone": "",
        "agent_external_id": "agent123",
        "agent_name": "John Agent",
        "agent_email": "john@example.com",
        "is_chatbot": False,
        "status": status,
        "started_at": T0,
        "agent_joined_at": T0 + timedelta(seconds=20),
        "ended_at": T0 + timedelta(seconds=length) if ended else None,
        "last_message_at": T0 + timedelta(seconds=length),
        "changed_at": T0 + timedelta(seconds=length),
        "duration": length,
        "first_response_seconds": 20,
        "avg_between_messages": 30,
        "rating": None,
        "message_count": 2,
        "last_message": "Thank you for your inquiry!",
        "last_sender": "agent",
    }
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items() if k != "raw"}
    return row
