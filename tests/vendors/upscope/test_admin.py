"""The Upscope changelists that grow (sessions, visitors) at a million rows: no
COUNT over every row, no date hierarchy, exact indexed search, ordering on the
primary key, JSON columns unread; the filters still work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.core.conftest import make_account
from vendors.upscope.admin import UpscopeSessionAdmin
from vendors.upscope.models import UpscopeAgent, UpscopeSession, UpscopeVisitor

from .control_room import (
    T0,
    upscope_spec,  # noqa: F401 - a fixture
)

BoundedCountPaginator = UpscopeSessionAdmin.paginator
SESSIONS = "admin:upscope_upscopesession_changelist"
VISITORS = "admin:upscope_upscopevisitor_changelist"


@pytest.fixture
def account(reseller, upscope_spec):  # noqa: F811 - the fixture
    return make_account(
        reseller, "Upscope", vendor="upscope", base_url="https://api.upscope.io/v1.3"
    )


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def sessions(account):
    return [
        UpscopeSession.objects.create(
            account=account,
            external_id=f"s_{n}",
            visitor_short_id=f"V{n % 4}",
            started_at=T0 - timedelta(hours=n),
            is_ongoing=n % 3 == 0,
            metadata={"n": n},
            raw={"n": n},
        )
        for n in range(12)
    ]


def _get(client, url, query=""):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(url) + query)
    assert response.status_code == 200, response.status_code
    return response, [q["sql"] for q in ctx.captured_queries]


def _rows(sql, table):
    return [
        q for q in sql if f'"{table}"' in q and "ORDER BY" in q and "COUNT(" not in q
    ]


def _shown(response):
    return [r.external_id for r in response.context["cl"].result_list]


def test_session_changelist_counts_at_most_the_cap(admin_client, sessions, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "count_cap", 5)
    response, sql = _get(admin_client, SESSIONS)
    counts = [q for q in sql if '"upscope_upscopesession"' in q and "COUNT(" in q]
    assert counts, sql
    for q in counts:  # a COUNT over a LIMIT subquery, never over the whole table
        assert "LIMIT 6" in q, q
    assert "More than 5" in response.content.decode()
    assert response.context["cl"].date_hierarchy is None


def test_session_changelist_orders_on_the_primary_key_and_defers_json(
    admin_client, sessions
):
    response, sql = _get(admin_client, SESSIONS)
    (rows,) = _rows(sql, "upscope_upscopesession")
    assert rows.rstrip().endswith('ORDER BY "upscope_upscopesession"."id" DESC')
    for column in ("raw", "metadata", "agents"):
        assert f'"upscope_upscopesession"."{column}"' not in rows, column
    assert _shown(response) == [s.external_id for s in reversed(sessions)]


def test_session_search_is_exact_on_session_or_visitor_id(admin_client, sessions):
    response, sql = _get(admin_client, SESSIONS, "?q=s_3")
    assert _shown(response) == ["s_3"]
    (rows,) = _rows(sql, "upscope_upscopesession")
    assert "LIKE" not in rows.upper() and '"account_id" IN (' in rows
    response, _ = _get(admin_client, SESSIONS, "?q=V1")
    assert sorted(_shown(response)) == ["s_1", "s_5", "s_9"]
    response, _ = _get(admin_client, SESSIONS, "?q=s_")  # no substring match
    assert _shown(response) == []


def test_session_filters_still_work(admin_client, sessions, account):
    response, _ = _get(admin_client, SESSIONS, "?is_ongoing__exact=1")
    assert set(_shown(response)) == {f"s_{n}" for n in range(0, 12, 3)}
    response, _ = _get(admin_client, SESSIONS, f"?account__id__exact={account.pk}")
    assert len(_shown(response)) == 12


def test_visitor_changelist_is_bounded_and_searched_exactly(admin_client, account):
    for n in range(3):
        UpscopeVisitor.objects.create(
            account=account,
            external_id=f"{1000 + n}",
            is_online=n == 1,
            last_seen_at=T0,
            raw={"n": n},
        )
    response, sql = _get(admin_client, VISITORS, "?q=1001")
    assert _shown(response) == ["1001"]
    (rows,) = _rows(sql, "upscope_upscopevisitor")
    assert '"upscope_upscopevisitor"."raw"' not in rows and "LIKE" not in rows.upper()
    response, _ = _get(admin_client, VISITORS, "?is_online__exact=1")
    assert _shown(response) == ["1001"]


def test_agent_and_usage_changelists_open(admin_client, account):
    UpscopeAgent.objects.create(account=account, external_id="u_1", name="Ann")
    _get(admin_client, "admin:upscope_upscopeagent_changelist")
    _get(admin_client, "admin:upscope_upscopeusage_changelist")
