"""The control-room declarations of Upscope's rows, and rows as the sync stores
them, for the model, activity and admin tests.

Upscope's VendorSpec is declared in apps.py with the client; this fixture uses
it when it carries the sources below, and otherwise registers a stand-in spec
with exactly these declarations for the test (and restores the registry after),
so these tests run on a branch without the client too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import get_resolver

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit import registry

P = "vendors.upscope"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

#: What apps.py's VendorSpec declares (`activities=`, `agents=`).
ACTIVITIES = (
    registry.ActivitySource(
        model="upscope.UpscopeSession",
        kind=ActivityKind.COBROWSE,
        map=f"{P}.activity.session_activity",
        agent_name_from_directory=True,
    ),
)
AGENTS = (
    registry.AgentSource(model="upscope.UpscopeAgent", map=f"{P}.activity.agent_entry"),
)


@pytest.fixture
def upscope_spec():
    declared = registry._registry.get("upscope")
    if declared is not None and declared.activities:
        assert declared.activities == ACTIVITIES and declared.agents == AGENTS
        yield declared
        return
    # The root URLconf includes every registered vendor's urls: load it first
    # (a stand-in has no pages; the index then links nowhere).
    get_resolver().url_patterns  # noqa: B018
    spec = registry.VendorSpec(
        slug="upscope",
        label="Upscope",
        client_class=f"{P}.client.UpscopeClient",
        default_base_url="https://api.upscope.io/v1.3",
        credential_fields=(),
        activities=ACTIVITIES,
        agents=AGENTS,
    )
    registry.register(spec)
    try:
        yield spec
    finally:
        if declared is None:
            registry._registry.pop("upscope", None)
        else:
            registry._registry["upscope"] = declared
        registry._sources.clear()


def session_row(i=1, *, ongoing=False, length=300, **extra) -> dict:
    """A session as the sync stores it (the fields of UpscopeSession)."""
    row = {
        "external_id": f"s_{i}",
        "visitor_short_id": f"V{i}",
        "visitor_label": f"Visitor Person {i}",
        "tags": ["#VIP", "#RETURNING"],
        "agent_id": "u_7",
        "agent_name": "Ann Agent",
        "agent_identifier": "crm-7",
        "agents": [{"id": "u_7", "name": "Ann Agent", "agent_identifier": "crm-7"}],
        "started_at": T0,
        "ended_at": None if ongoing else T0 + timedelta(seconds=length),
        "updated_at": T0 + timedelta(seconds=length),
        "duration": length,
        "call_duration": 0,
        "went_live": True,
        "features_used": ["click"],
        "metadata": {},
        "team_id": "1",
        "is_ongoing": ongoing,
    }
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items() if k != "raw"}
    return row


def agent_row(ext="u_7", email="Ann@Example.com", name="Ann Agent", **extra):
    row = {
        "external_id": ext,
        "name": name,
        "email": email,
        "agent_identifier": "crm-7",
        "kind": "user",
        "looked_up_by": "email",
        "last_session_at": T0,
    }
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items() if k != "raw"}
    return row
