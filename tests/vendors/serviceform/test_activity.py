"""Serviceform chats as activities: the map on its own (open vs ended,
durations, agent, visitor, tags, url, link, missing fields, no query), and
through vendorkit's bulk upsert into Activity / ActivityTag / UsageDay; no
agent directory entries (Serviceform has no agent listing)."""

from __future__ import annotations

import sys
import types
from datetime import date, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, set_urlconf

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus
from cobrowse_portal.core.models import (
    Activity,
    ActivityTag,
    UsageDay,
    UsageDayAgent,
    VendorAgent,
)
from cobrowse_portal.vendorkit.bulk import reconcile, upsert
from tests.core.conftest import make_account
from vendors.serviceform import activity
from vendors.serviceform.models import ServiceformChat

from .control_room import (
    T0,
    chat_row,
    serviceform_spec,  # noqa: F401 - a fixture
)

ACCOUNT = mock.Mock(pk=3)
BASE = "https://link.serviceform.com"


# --- the map --------------------------------------------------------------------------
def test_an_ended_chat_is_ended_with_its_length_agent_visitor_and_tags():
    act = activity.chat_activity(ACCOUNT, {**chat_row(length=754), "id": 9})
    assert act["status"] == ActivityStatus.ENDED
    assert (act["started_at"], act["ended_at"]) == (T0, T0 + timedelta(seconds=754))
    assert act["duration"] == 754
    assert (act["agent_external_id"], act["agent_name"]) == ("agent123", "John Agent")
    assert act["visitor"] == "Jane Doe 1"
    assert act["tags"] == ["human", "Support", "website"]
    assert act["title"] == "Chat chat1 on Shop"
    assert act["url"] == "https://shop.example/support"


def test_an_open_chat_is_live_with_no_end_or_duration_yet():
    # A stale `ended_at` or a running length on an open chat is not its end.
    row = chat_row(status="open", length=120, ended_at=T0 + timedelta(seconds=5))
    act = activity.chat_activity(ACCOUNT, row)
    assert act["status"] == ActivityStatus.LIVE
    assert act["ended_at"] is None and act["duration"] is None
    assert act["started_at"] == T0


@pytest.mark.parametrize(
    "status, expected",
    [
        ("open", ActivityStatus.LIVE),
        ("ended", ActivityStatus.ENDED),
        (None, ActivityStatus.LIVE),  # not said to have ended: still open
    ],
)
def test_every_status_maps(status, expected):
    assert activity.chat_activity(ACCOUNT, chat_row(status=status))["status"] == (
        expected
    )


def test_an_ended_chat_without_a_length_takes_it_from_its_times():
    act = activity.chat_activity(ACCOUNT, chat_row(length=90, duration=None))
    assert act["duration"] == 90
    # …but never a negative one from times out of order.
    row = chat_row(duration=None, ended_at=T0 - timedelta(seconds=5))
    assert activity.chat_activity(ACCOUNT, row)["duration"] is None


def test_the_visitor_is_name_email_phone_or_uid():
    row = chat_row(visitor_name=" ", visitor_email="eve@shop.example")
    assert activity.chat_activity(ACCOUNT, row)["visitor"] == "eve@shop.example"
    row = chat_row(visitor_name="", visitor_email="", visitor_phone="+358 40 1")
    assert activity.chat_activity(ACCOUNT, row)["visitor"] == "+358 40 1"
    row = chat_row(visitor_name="", visitor_email="", visitor_phone="")
    assert activity.chat_activity(ACCOUNT, row)["visitor"] == "Visitor user1"
    row = chat_row(visitor_name="", visitor_email="", visitor_uid="")
    assert activity.chat_activity(ACCOUNT, row)["visitor"] == ""


def test_chatbot_and_unknown_chats_are_tagged_as_such():
    assert activity.tags(chat_row(is_chatbot=True, team="", source="")) == ["chatbot"]
    assert activity.tags(chat_row(is_chatbot=None, team="", source="")) == []
    # A team named like the source is one tag.
    assert activity.tags(chat_row(team="web", source="web")) == ["human", "web"]


def test_a_row_with_only_its_id_maps_without_failing():
    act = activity.chat_activity(ACCOUNT, {"external_id": "c1"})
    assert act == {
        "status": ActivityStatus.LIVE,
        "started_at": None,
        "ended_at": None,
        "duration": None,
        "agent_external_id": "",
        "agent_name": "",
        "visitor": "",
        "url": "",
        "title": "Chat c1",
        "tags": [],
        "link": act["link"],
    }
    assert act["link"] == ""  # no pk: no page to link to
    # Odd values (not text) are dropped, never shown.
    odd = {"external_id": "c2", "visitor_name": 7, "agent_name": None, "team": 5}
    act = activity.chat_activity(ACCOUNT, odd)
    assert (act["visitor"], act["agent_name"], act["tags"]) == ("", "", [])


def test_only_an_http_url_becomes_the_activity_url():
    bad = chat_row(page_url="javascript:alert(1)")
    assert activity.chat_activity(ACCOUNT, bad)["url"] == ""
    assert activity.chat_activity(ACCOUNT, chat_row(page_url="/support"))["url"] == ""


def test_the_map_makes_no_query(db):
    with CaptureQueriesContext(connection) as ctx:
        for i in range(5):
            activity.chat_activity(ACCOUNT, {**chat_row(i), "id": i})
    assert ctx.captured_queries == []


def _urlconf(name: str, with_page: bool) -> str:
    """A URLconf module with (or without) the chat page, under `serviceform:`."""
    pages = types.ModuleType(f"{name}_pages")
    pages.app_name = "serviceform"
    pages.urlpatterns = (
        [
            path(
                "<int:account_id>/chats/<int:pk>/",
                lambda r, **kw: HttpResponse(),
                name="chat",
            )
        ]
        if with_page
        else []
    )
    root = types.ModuleType(name)
    root.urlpatterns = [path("serviceform/", include(pages))]
    sys.modules[pages.__name__], sys.modules[name] = pages, root
    return name


@pytest.fixture
def urlconf():
    made: list[str] = []

    def use(with_page: bool) -> None:
        name = _urlconf(f"serviceform_test_urls_{len(made)}_{with_page}", with_page)
        made.append(name)
        set_urlconf(name)

    yield use
    set_urlconf(None)
    for name in made:
        activity._missing.discard(name)
        sys.modules.pop(name, None)
        sys.modules.pop(f"{name}_pages", None)


def test_the_link_is_the_chat_page_or_nothing_while_there_is_none(urlconf):
    urlconf(with_page=True)
    act = activity.chat_activity(ACCOUNT, {**chat_row(), "id": 42})
    assert act["link"] == "/serviceform/3/chats/42/"
    urlconf(with_page=False)
    assert activity.chat_activity(ACCOUNT, {**chat_row(), "id": 42})["link"] == ""


# --- through the bulk upsert ----------------------------------------------------------
@pytest.fixture
def account(reseller, serviceform_spec):  # noqa: F811 - the fixture
    return make_account(reseller, "Serviceform", vendor="serviceform", base_url=BASE)


def test_upserted_chats_are_indexed_as_chats_with_tags(account):
    upsert(
        ServiceformChat,
        account,
        [chat_row(1), chat_row(2, status="open", is_chatbot=True)],
    )
    ended = Activity.objects.get(external_id="chat1")
    assert (ended.vendor, ended.kind, ended.account_id) == (
        "serviceform",
        ActivityKind.CHAT,
        account.pk,
    )
    assert ended.status == ActivityStatus.ENDED and ended.duration == 300
    assert (ended.agent_external_id, ended.agent_name) == ("agent123", "John Agent")
    assert ended.visitor == "Jane Doe 1" and "jane doe 1" in ended.search
    live = Activity.objects.get(external_id="chat2")
    assert live.status == ActivityStatus.LIVE and live.ended_at is None
    assert live.tags == ["chatbot", "Support", "website"]
    tags = sorted(ActivityTag.objects.values_list("tag", flat=True))
    assert tags == ["chatbot", "human", "support", "support", "website", "website"]
    # Chats name their agents, but feed no directory.
    assert not VendorAgent.objects.exists()


def test_a_chat_that_ends_moves_its_activity_and_the_day_rollup(account):
    upsert(ServiceformChat, account, [chat_row(status="open", length=60)])
    day = UsageDay.objects.get(account=account)
    assert (day.day, day.activities, day.seconds) == (date(2026, 11, 30), 1, 0)
    upsert(ServiceformChat, account, [chat_row(length=900)])
    act = Activity.objects.get()
    assert act.status == ActivityStatus.ENDED and act.duration == 900
    day.refresh_from_db()
    assert (day.activities, day.seconds, day.agents) == (1, 900, 1)
    assert UsageDayAgent.objects.get().agent_key == "agent123"


def test_an_unchanged_chat_writes_nothing_again(account):
    rows = [chat_row(i) for i in range(5)]
    assert upsert(ServiceformChat, account, rows).created == 5
    before = list(Activity.objects.values_list("pk", "updated_at"))
    counts = upsert(ServiceformChat, account, [chat_row(i) for i in range(5)])
    assert (counts.unchanged, counts.created, counts.updated) == (5, 0, 0)
    assert list(Activity.objects.values_list("pk", "updated_at")) == before


def test_a_chat_gone_from_a_full_listing_is_removed_from_the_index(account):
    reconcile(ServiceformChat, account, [chat_row(1), chat_row(2)])
    reconcile(ServiceformChat, account, [chat_row(1)])
    assert ServiceformChat.objects.get(external_id="chat2").removed_at is not None
    shown = Activity.objects.filter(removed_at__isnull=True)
    assert set(shown.values_list("external_id", flat=True)) == {"chat1"}
    assert Activity.objects.get(external_id="chat2").removed_at is not None
    # …and no longer counted in its day.
    day = UsageDay.objects.get(account=account)
    assert (day.activities, day.seconds) == (1, 300)
