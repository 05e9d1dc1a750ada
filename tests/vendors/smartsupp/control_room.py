"""The control-room declarations of Smartsupp's rows, and rows as the intake
and the sync store them, for the model, activity and admin tests.

Smartsupp's VendorSpec is declared in apps.py with the client; this fixture
uses it when it carries the sources below, and otherwise registers a stand-in
spec with exactly these declarations for the test (and restores the registry
after), so these tests run on a branch without the client too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import get_resolver

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit import registry
from tests.core.conftest import make_account

P = "vendors.smartsupp"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BASE_URL = "http://api.smartsupp.com"

#: What apps.py's VendorSpec declares (`activities=`, `agents=`).
ACTIVITIES = (
    registry.ActivitySource(
        model="smartsupp.SmartsuppChat",
        kind=ActivityKind.CHAT,
        map=f"{P}.activity.chat_activity",
        agent_name_from_directory=True,
    ),
)
AGENTS = (
    registry.AgentSource(
        model="smartsupp.SmartsuppUser", map=f"{P}.activity.user_entry"
    ),
)


@pytest.fixture
def smartsupp_spec():
    declared = registry._registry.get("smartsupp")
    if declared is not None and declared.activities:
        assert declared.activities == ACTIVITIES and declared.agents == AGENTS
        yield declared
        return
    # The root URLconf includes every registered vendor's urls: load it first
    # (a stand-in has no pages; the index then links nowhere).
    get_resolver().url_patterns  # noqa: B018
    spec = registry.VendorSpec(
        slug="smartsupp",
        label="Smartsupp",
        client_class=f"{P}.client.SmartsuppClient",
        default_base_url=BASE_URL,
        credential_fields=(),
        activities=ACTIVITIES,
        agents=AGENTS,
    )
    registry.register(spec)
    try:
        yield spec
    finally:
        if declared is None:
            registry._registry.pop("smartsupp", None)
        else:
            registry._registry["smartsupp"] = declared
        registry._sources.clear()


def reseller_account(workspace, name="Smartsupp"):
    """The portal's VendorAccount of a Smartsupp partner (its apiKey)."""
    return make_account(workspace, name, vendor="smartsupp", base_url=BASE_URL)


def chat_row(i=1, *, length=300, **extra) -> dict:
    """A finished chat as the intake stores it (the fields of SmartsuppChat)."""
    row = {
        "external_id": f"ch{i}",
        "smartsupp_account_id": "1234",
        "begin_at": T0,
        "end_at": T0 + timedelta(seconds=length),
        "duration": length,
        "is_missed": False,
        "is_offline": False,
        "is_triggered": False,
        "is_completed": True,
        "is_dropped": False,
        "rating": 5,
        "rating_desc": "Quick and kind",
        "messages_count": 6,
        "avg_response": 20,
        "first_response": 12,
        "visitor_id": f"v{i}",
        "visitor_name": f"Visitor Person {i}",
        "visitor_email": f"visitor{i}@shop.example",
        "visitor_city": "Prague",
        "visitor_country": "Czechia",
        "visitor_country_code": "CZ",
        "referer": "https://search.example/?q=shoes",
        "first_url": "https://shop.example/pricing",
        "first_title": "Pricing",
        "agent_id": "3434",
        "agent_name": "John Doe",
        "agent_email": "john@doe.com",
        "paths": [{"url": "https://shop.example/pricing", "title": "Pricing"}],
    }
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items() if k != "raw"}
    return row


def user_row(smartsupp_account, ext="3434", email="John@Doe.com", **extra) -> dict:
    """A user as the sync stores it (the fields of SmartsuppUser)."""
    row = {
        "external_id": ext,
        "smartsupp_account": smartsupp_account.pk,
        "role": "agent",
        "email": email,
        "fullname": "John Doe",
        "nickname": "John",
        "lang": "en",
        "active": True,
    }
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items() if k != "raw"}
    return row
