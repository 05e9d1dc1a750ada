"""The Smartsupp admin: every model's changelist and change page open; the
finished-chat changelist (a row per chat, for years) has no COUNT over every
row, no date hierarchy, exact indexed search, ordering on the primary key and
JSON columns unread, and its filters still work; chat messages show on the
chat, and their own changelist is bounded too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from vendors.smartsupp.admin import SmartsuppChatAdmin
from vendors.smartsupp.models import (
    SmartsuppAccount,
    SmartsuppChat,
    SmartsuppChatMessage,
    SmartsuppOfficeHours,
    SmartsuppTrigger,
    SmartsuppUser,
)

from .control_room import (
    T0,
    reseller_account,
    smartsupp_spec,  # noqa: F401 - a fixture
)

BoundedCountPaginator = SmartsuppChatAdmin.paginator
CHATS = "admin:smartsupp_smartsuppchat_changelist"
MESSAGES = "admin:smartsupp_smartsuppchatmessage_changelist"


@pytest.fixture
def account(reseller, smartsupp_spec):  # noqa: F811 - the fixture
    return reseller_account(reseller)


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def chats(account):
    return [
        SmartsuppChat.objects.create(
            account=account,
            external_id=f"ch{n}",
            smartsupp_account_id=f"a{n % 4}",
            begin_at=T0 - timedelta(hours=n),
            is_missed=n % 3 == 0,
            paths=[{"url": "https://shop.example/", "title": "Home"}],
            raw={"n": n},
        )
        for n in range(12)
    ]


def _get(client, url, query=""):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url + query)
    assert response.status_code == 200, response.status_code
    return response, [q["sql"] for q in ctx.captured_queries]


def _rows(sql, table):
    return [
        q for q in sql if f'"{table}"' in q and "ORDER BY" in q and "COUNT(" not in q
    ]


def _shown(response):
    return [r.external_id for r in response.context["cl"].result_list]


def test_chat_changelist_counts_at_most_the_cap(admin_client, chats, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "count_cap", 5)
    response, sql = _get(admin_client, reverse(CHATS))
    counts = [q for q in sql if '"smartsupp_smartsuppchat"' in q and "COUNT(" in q]
    assert counts, sql
    for q in counts:  # a COUNT over a LIMIT subquery, never over the whole table
        assert "LIMIT 6" in q, q
    assert "More than 5" in response.content.decode()
    assert response.context["cl"].date_hierarchy is None


def test_chat_changelist_orders_on_the_primary_key_and_defers_json(admin_client, chats):
    response, sql = _get(admin_client, reverse(CHATS))
    (rows,) = _rows(sql, "smartsupp_smartsuppchat")
    assert rows.rstrip().endswith('ORDER BY "smartsupp_smartsuppchat"."id" DESC')
    for column in ("raw", "paths", "rating_desc"):
        assert f'"smartsupp_smartsuppchat"."{column}"' not in rows, column
    assert _shown(response) == [c.external_id for c in reversed(chats)]


def test_chat_search_is_exact_on_chat_or_smartsupp_account_id(admin_client, chats):
    response, sql = _get(admin_client, reverse(CHATS), "?q=ch3")
    assert _shown(response) == ["ch3"]
    (rows,) = _rows(sql, "smartsupp_smartsuppchat")
    assert "LIKE" not in rows.upper() and '"account_id" IN (' in rows
    response, _ = _get(admin_client, reverse(CHATS), "?q=a1")
    assert sorted(_shown(response)) == ["ch1", "ch5", "ch9"]
    response, _ = _get(admin_client, reverse(CHATS), "?q=ch")  # no substring match
    assert _shown(response) == []


def test_chat_filters_still_work(admin_client, chats, account):
    response, _ = _get(admin_client, reverse(CHATS), "?is_missed__exact=1")
    assert set(_shown(response)) == {f"ch{n}" for n in range(0, 12, 3)}
    response, _ = _get(
        admin_client, reverse(CHATS), f"?account__id__exact={account.pk}"
    )
    assert len(_shown(response)) == 12


def test_a_chat_page_shows_its_messages(admin_client, chats):
    chat = chats[0]
    SmartsuppChatMessage.objects.create(
        chat=chat, position=0, type="visitor", name="Eve", content="Hi, a question"
    )
    SmartsuppChatMessage.objects.create(
        chat=chat, position=1, type="agent", name="John", content="Sure, ask away"
    )
    url = reverse("admin:smartsupp_smartsuppchat_change", args=[chat.pk])
    response, _ = _get(admin_client, url)
    page = response.content.decode()
    assert "Hi, a question" in page and "Sure, ask away" in page


def test_the_message_changelist_is_bounded(admin_client, chats, monkeypatch):
    for n in range(4):
        SmartsuppChatMessage.objects.create(
            chat=chats[0], position=n, type="visitor", content=f"m{n}"
        )
    monkeypatch.setattr(BoundedCountPaginator, "count_cap", 2)
    response, sql = _get(admin_client, reverse(MESSAGES))
    counts = [
        q for q in sql if '"smartsupp_smartsuppchatmessage"' in q and "COUNT(" in q
    ]
    assert counts and all("LIMIT 3" in q for q in counts), counts
    assert "More than 2" in response.content.decode()
    response, _ = _get(admin_client, reverse(MESSAGES), "?type__exact=agent")
    assert list(response.context["cl"].result_list) == []


def test_every_other_changelist_and_change_page_opens(admin_client, account):
    ss = SmartsuppAccount.objects.create(
        account=account, external_id="1234", title="Shop", account_key="14dcb138"
    )
    rows = [
        ss,
        SmartsuppUser.objects.create(
            account=account,
            smartsupp_account=ss,
            external_id="3434",
            role="agent",
            email="john@doe.com",
            fullname="John Doe",
        ),
        SmartsuppTrigger.objects.create(
            account=account,
            smartsupp_account=ss,
            external_id="758",
            name="1st visit greeting",
            event="onload",
            conditions=[{"name": "delay_site", "value": 60}],
        ),
        SmartsuppOfficeHours.objects.create(
            account=account,
            smartsupp_account=ss,
            external_id="1234",
            active=True,
            days=[1, 2],
            timezone="1",
        ),
    ]
    for row in rows:
        name = type(row).__name__.lower()
        response, _ = _get(admin_client, reverse(f"admin:smartsupp_{name}_changelist"))
        assert str(row) in response.content.decode(), name
        change = reverse(f"admin:smartsupp_{name}_change", args=[row.pk])
        _get(admin_client, change)
    response, _ = _get(
        admin_client, reverse("admin:smartsupp_smartsuppuser_changelist"), "?q=john"
    )
    assert [u.external_id for u in response.context["cl"].result_list] == ["3434"]
