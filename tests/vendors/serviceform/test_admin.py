"""The Serviceform changelists that grow (chats, messages, items, leads) at a
million rows: no COUNT over every row, no date hierarchy, exact indexed search,
ordering on the primary key, JSON and text columns unread; the filters still
work; every model's changelist and change page open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.core.conftest import make_account
from vendors.serviceform.admin import ServiceformChatAdmin
from vendors.serviceform.models import (
    ServiceformChat,
    ServiceformChatStatDay,
    ServiceformItem,
    ServiceformLead,
    ServiceformMessage,
    ServiceformSpace,
)

from .control_room import (
    T0,
    serviceform_spec,  # noqa: F401 - a fixture
)

BoundedCountPaginator = ServiceformChatAdmin.paginator
CHATS = "admin:serviceform_serviceformchat_changelist"
MESSAGES = "admin:serviceform_serviceformmessage_changelist"
ITEMS = "admin:serviceform_serviceformitem_changelist"
LEADS = "admin:serviceform_serviceformlead_changelist"


@pytest.fixture
def account(reseller, serviceform_spec):  # noqa: F811 - the fixture
    return make_account(
        reseller,
        "Serviceform",
        vendor="serviceform",
        base_url="https://link.serviceform.com",
    )


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def chats(account):
    return [
        ServiceformChat.objects.create(
            account=account,
            external_id=f"chat{n}",
            visitor_uid=f"user{n % 4}",
            started_at=T0 - timedelta(hours=n),
            status="open" if n % 3 == 0 else "ended",
            is_chatbot=n % 2 == 0,
            last_message="a long last message " * 20,
            raw={"n": n},
        )
        for n in range(12)
    ]


def _get(client, url, query=""):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url if url.startswith("/") else reverse(url) + query)
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
    response, sql = _get(admin_client, CHATS)
    counts = [q for q in sql if '"serviceform_serviceformchat"' in q and "COUNT(" in q]
    assert counts, sql
    for q in counts:  # a COUNT over a LIMIT subquery, never over the whole table
        assert "LIMIT 6" in q, q
    assert "More than 5" in response.content.decode()
    assert response.context["cl"].date_hierarchy is None


def test_chat_changelist_orders_on_the_primary_key_and_defers_payloads(
    admin_client, chats
):
    response, sql = _get(admin_client, CHATS)
    (rows,) = _rows(sql, "serviceform_serviceformchat")
    assert rows.rstrip().endswith('ORDER BY "serviceform_serviceformchat"."id" DESC')
    for column in ("raw", "last_message"):
        assert f'"serviceform_serviceformchat"."{column}"' not in rows, column
    assert _shown(response) == [c.external_id for c in reversed(chats)]


def test_chat_search_is_exact_on_chat_or_visitor_id(admin_client, chats):
    response, sql = _get(admin_client, CHATS, "?q=chat3")
    assert _shown(response) == ["chat3"]
    (rows,) = _rows(sql, "serviceform_serviceformchat")
    assert "LIKE" not in rows.upper() and '"account_id" IN (' in rows
    response, _ = _get(admin_client, CHATS, "?q=user1")
    assert sorted(_shown(response)) == ["chat1", "chat5", "chat9"]
    response, _ = _get(admin_client, CHATS, "?q=chat")  # no substring match
    assert _shown(response) == []


def test_chat_filters_still_work(admin_client, chats, account):
    response, _ = _get(admin_client, CHATS, "?status__exact=open")
    assert set(_shown(response)) == {f"chat{n}" for n in range(0, 12, 3)}
    response, _ = _get(admin_client, CHATS, "?is_chatbot__exact=1")
    assert set(_shown(response)) == {f"chat{n}" for n in range(0, 12, 2)}
    response, _ = _get(admin_client, CHATS, f"?account__id__exact={account.pk}")
    assert len(_shown(response)) == 12


def test_message_changelist_is_bounded_searched_exactly_and_skips_text(
    admin_client, chats, account
):
    for n in range(3):
        ServiceformMessage.objects.create(
            account=account,
            chat=chats[0],
            external_id=f"chat0/m{n}",
            message_id=f"m{n}",
            position=n,
            sender="agent" if n == 1 else "visitor",
            text="hello " * 50,
            raw={"n": n},
        )
    response, sql = _get(admin_client, MESSAGES, "?q=chat0/m1")
    assert _shown(response) == ["chat0/m1"]
    (rows,) = _rows(sql, "serviceform_serviceformmessage")
    for column in ("raw", "text"):
        assert f'"serviceform_serviceformmessage"."{column}"' not in rows, column
    assert "LIKE" not in rows.upper()
    response, _ = _get(admin_client, MESSAGES, "?sender__exact=agent")
    assert _shown(response) == ["chat0/m1"]


def test_item_and_lead_changelists_search_exactly(admin_client, account):
    space = ServiceformSpace.objects.create(account=account, external_id="sp1")
    for n in range(3):
        ServiceformItem.objects.create(
            account=account,
            space=space,
            space_external_id="sp1",
            external_id=f"it{n}",
            primary_field=f"Ticket {n}",
            values={"n": n},
        )
        ServiceformLead.objects.create(
            account=account, external_id=f"l{n}", email=f"p{n}@shop.example"
        )
    response, sql = _get(admin_client, ITEMS, "?q=Ticket 2")
    assert _shown(response) == ["it2"]
    (rows,) = _rows(sql, "serviceform_serviceformitem")
    assert '"serviceform_serviceformitem"."values"' not in rows
    response, _ = _get(admin_client, ITEMS, "?q=Ticket")
    assert _shown(response) == []
    response, _ = _get(admin_client, LEADS, "?q=p1@shop.example")
    assert _shown(response) == ["l1"]


def test_every_changelist_and_change_page_opens(admin_client, chats, account):
    space = ServiceformSpace.objects.create(
        account=account,
        external_id="sp1",
        name="Tickets",
        fields=[{"machine": "status", "type": "select", "options": []}],
    )
    objects = [
        space,
        ServiceformItem.objects.create(
            account=account, space=space, space_external_id="sp1", external_id="it1"
        ),
        ServiceformLead.objects.create(account=account, external_id="l1", name="Eve"),
        chats[0],
        ServiceformMessage.objects.create(
            account=account,
            chat=chats[0],
            external_id="chat0/m1",
            message_id="m1",
            position=0,
        ),
        ServiceformChatStatDay.objects.create(
            account=account, external_id="2026-11-30", day=T0.date(), chats=3
        ),
    ]
    for obj in objects:
        name = f"admin:serviceform_{obj._meta.model_name}"
        _get(admin_client, f"{name}_changelist")
        _get(admin_client, reverse(f"{name}_change", args=[obj.pk]))
