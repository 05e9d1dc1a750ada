"""Smartsupp finished chats as activities and users as directory entries: the
maps on their own (ended, missed, offline, triggered; lengths, agent, visitor,
page, link; missing fields; no query), and through vendorkit's bulk upsert into
Activity / ActivityTag / VendorAgent / UsageDay."""

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
    AgentIdentity,
    UsageDay,
    VendorAgent,
)
from cobrowse_portal.vendorkit.bulk import upsert
from vendors.smartsupp import activity
from vendors.smartsupp.models import SmartsuppAccount, SmartsuppChat, SmartsuppUser

from .control_room import (
    T0,
    chat_row,
    reseller_account,
    smartsupp_spec,  # noqa: F401 - a fixture
    user_row,
)

ACCOUNT = mock.Mock(pk=3)
SS_ACCOUNT = mock.Mock(pk=11)


# --- the chat map ---
def test_a_finished_chat_is_ended_with_its_length_agent_visitor_and_page():
    act = activity.chat_activity(ACCOUNT, {**chat_row(length=754), "id": 9})
    assert act["status"] == ActivityStatus.ENDED
    assert (act["started_at"], act["ended_at"]) == (T0, T0 + timedelta(seconds=754))
    assert act["duration"] == 754
    assert (act["agent_external_id"], act["agent_name"]) == ("3434", "John Doe")
    assert act["visitor"] == "Visitor Person 1"
    assert act["url"] == "https://shop.example/pricing"
    assert act["title"] == "Pricing"
    assert act["tags"] == []


@pytest.mark.parametrize(
    "flags, tags, title",
    [
        ({"is_missed": True}, ["missed"], "Missed chat ch1"),
        ({"is_offline": True}, ["offline"], "Offline message ch1"),
        ({"is_missed": True, "is_offline": True}, ["missed", "offline"], "Offline"),
        ({"is_triggered": True}, ["triggered"], "Chat ch1"),
        ({"is_dropped": True}, ["dropped"], "Chat ch1"),
        ({}, [], "Chat ch1"),
    ],
)
def test_missed_offline_and_triggered_chats_are_ended_and_say_so_in_tags(
    flags, tags, title
):
    # The index has no "missed" status: a missed chat is ended, tagged missed.
    row = chat_row(first_title="", agent_id="", agent_name="", **flags)
    act = activity.chat_activity(ACCOUNT, row)
    assert act["status"] == ActivityStatus.ENDED
    assert act["tags"] == tags
    assert act["title"].startswith(title)


def test_a_chat_without_a_length_takes_it_from_its_times_never_negative():
    act = activity.chat_activity(ACCOUNT, chat_row(length=90, duration=None))
    assert act["duration"] == 90
    row = chat_row(duration=None, end_at=T0 - timedelta(seconds=5))
    assert activity.chat_activity(ACCOUNT, row)["duration"] is None
    row = chat_row(duration=None, end_at=None)
    assert activity.chat_activity(ACCOUNT, row)["duration"] is None
    assert activity.chat_activity(ACCOUNT, chat_row(duration=-3))["duration"] is None


def test_a_chat_with_every_field_missing_still_maps():
    act = activity.chat_activity(ACCOUNT, {"external_id": "ch7"})
    assert act == {
        "status": ActivityStatus.ENDED,
        "started_at": None,
        "ended_at": None,
        "duration": None,
        "agent_external_id": "",
        "agent_name": "",
        "visitor": "",
        "url": "",
        "title": "Chat ch7",
        "tags": [],
        "link": "",
    }


def test_the_visitor_is_the_name_else_the_email_else_the_visitor_id():
    row = chat_row(visitor_name="  ")
    assert activity.chat_activity(ACCOUNT, row)["visitor"] == "visitor1@shop.example"
    row = chat_row(visitor_name="", visitor_email=None)
    assert activity.chat_activity(ACCOUNT, row)["visitor"] == "Visitor v1"
    row = chat_row(visitor_name="", visitor_email="", visitor_id="")
    assert activity.chat_activity(ACCOUNT, row)["visitor"] == ""


def test_only_an_http_url_from_the_hook_becomes_the_activity_url():
    row = chat_row(first_url="javascript:alert(1)", referer="")
    assert activity.chat_activity(ACCOUNT, row)["url"] == ""
    # Without a first page, the referer (when it is a web address).
    row = chat_row(first_url="", referer="https://search.example/?q=x")
    assert activity.chat_activity(ACCOUNT, row)["url"] == "https://search.example/?q=x"
    row = chat_row(first_url="", referer="data:text/html,hi")
    assert activity.chat_activity(ACCOUNT, row)["url"] == ""


def _urlconf(name: str, with_page: bool) -> str:
    """A URLconf module with (or without) the chat page, under `smartsupp:`."""
    pages = types.ModuleType(f"{name}_pages")
    pages.app_name = "smartsupp"
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
    root.urlpatterns = [path("smartsupp/", include(pages))]
    sys.modules[pages.__name__], sys.modules[name] = pages, root
    return name


@pytest.fixture
def urlconf():
    made: list[str] = []

    def use(with_page: bool) -> None:
        name = _urlconf(f"smartsupp_test_urls_{len(made)}_{with_page}", with_page)
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
    assert act["link"] == "/smartsupp/3/chats/42/"
    assert activity.chat_activity(ACCOUNT, chat_row())["link"] == ""  # no id yet
    urlconf(with_page=False)
    assert activity.chat_activity(ACCOUNT, {**chat_row(), "id": 42})["link"] == ""


# --- the user map ---
def test_a_user_is_a_directory_entry_without_availability():
    entry = activity.user_entry(ACCOUNT, user_row(SS_ACCOUNT))
    assert entry == {
        "name": "John Doe",
        "email": "John@Doe.com",
        "role": "agent",
        "available": None,
        "free": None,
        "last_activity_at": None,
    }


def test_a_user_is_named_by_full_name_nickname_or_email():
    row = user_row(SS_ACCOUNT, fullname="", role="admin")
    assert activity.user_entry(ACCOUNT, row)["name"] == "John"
    assert activity.user_entry(ACCOUNT, row)["role"] == "admin"
    row = user_row(SS_ACCOUNT, fullname=None, nickname=" ")
    assert activity.user_entry(ACCOUNT, row)["name"] == "John@Doe.com"
    entry = activity.user_entry(ACCOUNT, {"external_id": "1"})
    assert (entry["name"], entry["email"], entry["role"]) == ("", "", "")


def test_the_maps_query_nothing(db, urlconf):
    urlconf(with_page=True)
    with CaptureQueriesContext(connection) as ctx:
        for i in range(20):
            activity.chat_activity(ACCOUNT, {**chat_row(i), "id": i})
            activity.user_entry(ACCOUNT, user_row(SS_ACCOUNT, ext=str(i)))
    assert ctx.captured_queries == []


# --- through the bulk upsert ---
@pytest.fixture
def account(reseller, smartsupp_spec):  # noqa: F811 - the fixture
    return reseller_account(reseller)


@pytest.fixture
def ss_account(account):
    return SmartsuppAccount.objects.create(
        account=account, external_id="1234", title="Shop"
    )


def test_upserted_chats_are_indexed_with_agent_identity_and_tags(account, ss_account):
    upsert(SmartsuppUser, account, [user_row(ss_account)])
    upsert(SmartsuppChat, account, [chat_row(1), chat_row(2, is_missed=True)])
    served = Activity.objects.get(external_id="ch1")
    assert (served.vendor, served.kind, served.account_id) == (
        "smartsupp",
        ActivityKind.CHAT,
        account.pk,
    )
    assert served.status == ActivityStatus.ENDED and served.duration == 300
    assert served.agent == AgentIdentity.objects.get(email="john@doe.com")
    assert (served.agent_external_id, served.agent_name) == ("3434", "John Doe")
    assert served.visitor == "Visitor Person 1" and served.tags == []
    missed = Activity.objects.get(external_id="ch2")
    assert missed.status == ActivityStatus.ENDED and missed.tags == ["missed"]
    assert list(ActivityTag.objects.values_list("tag", flat=True)) == ["missed"]
    va = VendorAgent.objects.get()
    assert (va.external_id, va.name, va.role, va.identity.email) == (
        "3434",
        "John Doe",
        "agent",
        "john@doe.com",
    )


def test_a_chat_without_an_agent_name_takes_the_directory_name(account, ss_account):
    upsert(SmartsuppUser, account, [user_row(ss_account, fullname="John From Sync")])
    upsert(SmartsuppChat, account, [chat_row(agent_name="")])
    assert Activity.objects.get().agent_name == "John From Sync"


def test_chats_count_in_the_day_rollup(account):
    upsert(SmartsuppChat, account, [chat_row(1, length=60), chat_row(2, length=40)])
    day = UsageDay.objects.get(account=account)
    assert (day.day, day.activities, day.seconds, day.agents) == (
        date(2026, 11, 30),
        2,
        100,
        1,
    )


def test_an_unchanged_chat_writes_nothing_again(account):
    assert upsert(SmartsuppChat, account, [chat_row(i) for i in range(5)]).created == 5
    before = list(Activity.objects.values_list("pk", "updated_at"))
    counts = upsert(SmartsuppChat, account, [chat_row(i) for i in range(5)])
    assert (counts.unchanged, counts.created, counts.updated) == (5, 0, 0)
    assert list(Activity.objects.values_list("pk", "updated_at")) == before


def test_a_saved_chat_is_indexed_and_a_deleted_one_forgotten(account):
    # The single-row path (the hook's intake): SyncedModel.save().
    chat = SmartsuppChat(
        account=account,
        external_id="ch9",
        begin_at=T0,
        end_at=T0 + timedelta(seconds=30),
        is_offline=True,
        visitor_email="eve@shop.example",
    )
    chat.save()
    act = Activity.objects.get(external_id="ch9")
    assert act.status == "ended" and act.duration == 30 and act.tags == ["offline"]
    assert act.visitor == "eve@shop.example"
    chat.delete()
    assert not Activity.objects.filter(external_id="ch9", removed_at=None).exists()


def test_a_removed_user_leaves_the_directory(account, ss_account):
    from cobrowse_portal.vendorkit.bulk import reconcile

    upsert(SmartsuppUser, account, [user_row(ss_account), user_row(ss_account, "9")])
    reconcile(SmartsuppUser, account, [user_row(ss_account)])
    assert SmartsuppUser.objects.get(external_id="9").removed_at is not None
    gone = VendorAgent.objects.get(external_id="9")
    assert gone.removed_at is not None
    assert VendorAgent.objects.get(external_id="3434").removed_at is None
