"""Upscope sessions as activities and agents as directory entries: the maps on
their own (live vs ended, durations, agent, visitor, tags, link), and through
vendorkit's bulk upsert into Activity / ActivityTag / VendorAgent / UsageDay."""

from __future__ import annotations

import sys
import types
from datetime import date, timedelta
from unittest import mock

import pytest
from django.http import HttpResponse
from django.urls import include, path, set_urlconf

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus
from cobrowse_portal.core.models import (
    Activity,
    ActivityTag,
    AgentIdentity,
    UsageDay,
    UsageDayAgent,
    VendorAgent,
)
from cobrowse_portal.vendorkit.bulk import upsert
from tests.core.conftest import make_account
from vendors.upscope import activity
from vendors.upscope.models import UpscopeAgent, UpscopeSession

from .control_room import (
    T0,
    agent_row,
    session_row,
    upscope_spec,  # noqa: F401 - a fixture
)

ACCOUNT = mock.Mock(pk=3)


# --- the maps -------------------------------------------------------------------------
def test_an_ended_session_is_ended_with_its_length_agent_visitor_and_tags():
    act = activity.session_activity(ACCOUNT, {**session_row(length=754), "id": 9})
    assert act["status"] == ActivityStatus.ENDED
    assert (act["started_at"], act["ended_at"]) == (T0, T0 + timedelta(seconds=754))
    assert act["duration"] == 754
    assert (act["agent_external_id"], act["agent_name"]) == ("u_7", "Ann Agent")
    assert act["visitor"] == "Visitor Person 1"
    assert act["tags"] == ["VIP", "RETURNING"]
    assert act["title"] == "Session s_1"


def test_an_ongoing_session_is_live_with_no_end_or_duration_yet():
    # Upscope's length of a running session is only how long it ran when seen.
    act = activity.session_activity(ACCOUNT, session_row(ongoing=True, length=120))
    assert act["status"] == ActivityStatus.LIVE
    assert act["ended_at"] is None and act["duration"] is None
    assert act["started_at"] == T0


def test_an_ended_session_without_a_length_takes_it_from_its_times():
    act = activity.session_activity(ACCOUNT, session_row(length=90, duration=None))
    assert act["duration"] == 90
    # …but never a negative one from times out of order.
    row = session_row(duration=None, ended_at=T0 - timedelta(seconds=5))
    assert activity.session_activity(ACCOUNT, row)["duration"] is None


def test_visitor_falls_back_to_metadata_then_the_short_id():
    meta = {"visitor_email": "eve@shop.example", "flag": True}
    row = session_row(visitor_label="", metadata=meta)
    assert activity.session_activity(ACCOUNT, row)["visitor"] == "eve@shop.example"
    row = session_row(visitor_label="", metadata={"name": True})  # not a name
    assert activity.session_activity(ACCOUNT, row)["visitor"] == "Visitor V1"
    row = session_row(visitor_label="", visitor_short_id="", metadata={})
    assert activity.session_activity(ACCOUNT, row)["visitor"] == ""


def test_only_an_http_url_from_the_metadata_becomes_the_activity_url():
    ok = session_row(metadata={"url": "https://shop.example/cart"})
    assert activity.session_activity(ACCOUNT, ok)["url"] == "https://shop.example/cart"
    bad = session_row(metadata={"url": "javascript:alert(1)"})
    assert activity.session_activity(ACCOUNT, bad)["url"] == ""


def test_odd_tags_are_dropped():
    row = session_row(tags=["#", "  ", 7, None, "#SALES", "plain"])
    assert activity.session_activity(ACCOUNT, row)["tags"] == ["SALES", "plain"]


def _urlconf(name: str, with_page: bool) -> str:
    """A URLconf module with (or without) the session page, under `upscope:`."""
    pages = types.ModuleType(f"{name}_pages")
    pages.app_name = "upscope"
    pages.urlpatterns = (
        [
            path(
                "<int:account_id>/sessions/<int:pk>/",
                lambda r, **kw: HttpResponse(),
                name="session_detail",
            )
        ]
        if with_page
        else []
    )
    root = types.ModuleType(name)
    root.urlpatterns = [path("upscope/", include(pages))]
    sys.modules[pages.__name__], sys.modules[name] = pages, root
    return name


@pytest.fixture
def urlconf():
    made: list[str] = []

    def use(with_page: bool) -> None:
        name = _urlconf(f"upscope_test_urls_{len(made)}_{with_page}", with_page)
        made.append(name)
        set_urlconf(name)

    yield use
    set_urlconf(None)
    for name in made:
        activity._missing.discard(name)
        sys.modules.pop(name, None)
        sys.modules.pop(f"{name}_pages", None)


def test_the_link_is_the_session_page_or_nothing_while_there_is_none(urlconf):
    urlconf(with_page=True)
    act = activity.session_activity(ACCOUNT, {**session_row(), "id": 42})
    assert act["link"] == "/upscope/3/sessions/42/"
    urlconf(with_page=False)
    assert activity.session_activity(ACCOUNT, {**session_row(), "id": 42})["link"] == ""


def test_an_agent_is_a_directory_entry_without_availability():
    entry = activity.agent_entry(ACCOUNT, agent_row())
    assert entry == {
        "name": "Ann Agent",
        "email": "Ann@Example.com",
        "role": "user",
        "available": None,
        "free": None,
        "last_activity_at": T0,
    }


# --- through the bulk upsert ----------------------------------------------------------
@pytest.fixture
def account(reseller, upscope_spec):  # noqa: F811 - the fixture
    return make_account(
        reseller, "Upscope", vendor="upscope", base_url="https://api.upscope.io/v1.3"
    )


def test_upserted_sessions_are_indexed_with_agent_identity_and_tags(account):
    upsert(UpscopeAgent, account, [agent_row()])
    upsert(UpscopeSession, account, [session_row(1), session_row(2, ongoing=True)])
    ended = Activity.objects.get(external_id="s_1")
    assert (ended.vendor, ended.kind, ended.account_id) == (
        "upscope",
        ActivityKind.COBROWSE,
        account.pk,
    )
    assert ended.status == ActivityStatus.ENDED and ended.duration == 300
    assert ended.agent == AgentIdentity.objects.get(email="ann@example.com")
    assert (ended.agent_external_id, ended.agent_name) == ("u_7", "Ann Agent")
    assert ended.visitor == "Visitor Person 1" and ended.tags == ["VIP", "RETURNING"]
    assert "visitor person 1" in ended.search and "vip" in ended.search
    live = Activity.objects.get(external_id="s_2")
    assert live.status == ActivityStatus.LIVE and live.ended_at is None
    tags = sorted(ActivityTag.objects.values_list("tag", flat=True))
    assert tags == ["returning", "returning", "vip", "vip"]
    va = VendorAgent.objects.get()
    assert (va.external_id, va.name, va.identity.email) == (
        "u_7",
        "Ann Agent",
        "ann@example.com",
    )


def test_a_session_without_an_agent_name_takes_the_directory_name(account):
    upsert(UpscopeAgent, account, [agent_row(name="Ann From Lookup")])
    upsert(UpscopeSession, account, [session_row(agent_name="")])
    assert Activity.objects.get().agent_name == "Ann From Lookup"


def test_a_session_that_ends_moves_its_activity_and_the_day_rollup(account):
    upsert(UpscopeSession, account, [session_row(ongoing=True, length=60)])
    day = UsageDay.objects.get(account=account)
    assert (day.day, day.activities, day.seconds) == (date(2026, 11, 30), 1, 0)
    upsert(UpscopeSession, account, [session_row(length=900)])
    act = Activity.objects.get()
    assert act.status == ActivityStatus.ENDED and act.duration == 900
    day.refresh_from_db()
    assert (day.activities, day.seconds, day.agents) == (1, 900, 1)
    assert UsageDayAgent.objects.get().agent_key == "u_7"


def test_an_unchanged_session_writes_nothing_again(account):
    rows = [session_row(i) for i in range(5)]
    assert upsert(UpscopeSession, account, rows).created == 5
    before = list(Activity.objects.values_list("pk", "updated_at"))
    counts = upsert(UpscopeSession, account, [session_row(i) for i in range(5)])
    assert (counts.unchanged, counts.created, counts.updated) == (5, 0, 0)
    assert list(Activity.objects.values_list("pk", "updated_at")) == before
