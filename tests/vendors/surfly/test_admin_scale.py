"""The sessions changelist of the Django admin at a million rows: no COUNT over
every row, no date hierarchy, exact indexed search, ordering on the primary key,
JSON columns unread; the filters still work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from vendors.surfly.admin import CobrowseSessionAdmin
from vendors.surfly.models import CobrowseSession

# vendorkit.bigadmin.BoundedCountPaginator (the stock Paginator has no cap)
BoundedCountPaginator = CobrowseSessionAdmin.paginator

URL = "admin:surfly_cobrowsesession_changelist"


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def sessions(account):
    now = timezone.now()
    return [
        CobrowseSession.objects.create(
            account=account,
            external_id=f"adm-{n}",
            pin=f"{5000 + n}",
            start_time=now - timedelta(hours=n),
            is_active=n % 3 == 0,
            raw={"n": n},
        )
        for n in range(12)
    ]


def _get(client, query=""):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(URL) + query)
    assert response.status_code == 200, response.status_code
    return response, [q["sql"] for q in ctx.captured_queries]


def _session_sql(sql):
    return [q for q in sql if '"surfly_cobrowsesession"' in q]


def _row_sql(sql):
    return [q for q in _session_sql(sql) if "ORDER BY" in q and "COUNT(" not in q]


def test_changelist_counts_at_most_the_cap(admin_client, sessions, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "count_cap", 5)
    response, sql = _get(admin_client)
    counts = [q for q in _session_sql(sql) if "COUNT(" in q.upper()]
    assert counts, sql
    for q in counts:  # a COUNT over a LIMIT subquery, never over the whole table
        assert "LIMIT 6" in q, q
    assert "More than 5" in response.content.decode()
    assert "date_hierarchy" not in response.content.decode()  # no hierarchy bar
    assert response.context["cl"].date_hierarchy is None


def test_changelist_orders_on_the_primary_key_and_defers_json(admin_client, sessions):
    response, sql = _get(admin_client)
    rows = _row_sql(sql)
    assert len(rows) == 1, sql
    assert rows[0].rstrip().endswith('ORDER BY "surfly_cobrowsesession"."id" DESC')
    assert '"surfly_cobrowsesession"."raw"' not in rows[0]
    shown = [s.external_id for s in response.context["cl"].result_list]
    assert shown == [s.external_id for s in reversed(sessions)]


def test_search_is_exact_and_indexed(admin_client, sessions):
    response, sql = _get(admin_client, "?q=adm-3")
    assert [s.external_id for s in response.context["cl"].result_list] == ["adm-3"]
    rows = _row_sql(sql)
    assert "LIKE" not in rows[0].upper() and "UPPER(" not in rows[0].upper()
    assert '"account_id" IN (' in rows[0]  # so the (account, …) indexes apply
    response, _ = _get(admin_client, "?q=5004")  # a PIN
    assert [s.external_id for s in response.context["cl"].result_list] == ["adm-4"]
    response, _ = _get(admin_client, "?q=adm")  # no substring match
    assert list(response.context["cl"].result_list) == []


def test_filters_still_work(admin_client, sessions, account):
    response, _ = _get(admin_client, "?is_active__exact=1")
    assert {s.external_id for s in response.context["cl"].result_list} == {
        f"adm-{n}" for n in range(0, 12, 3)
    }
    response, _ = _get(admin_client, f"?account__id__exact={account.pk}")
    assert len(response.context["cl"].result_list) == 12
    response, _ = _get(admin_client, "?start_time__gte=2000-01-01+00:00:00%2B00:00")
    assert len(response.context["cl"].result_list) == 12


def test_later_pages_open(admin_client, account, monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "count_cap", 1000)
    CobrowseSession.objects.bulk_create(
        CobrowseSession(account=account, external_id=f"p-{n}") for n in range(250)
    )
    response, _ = _get(admin_client, "?p=3")
    assert len(response.context["cl"].result_list) == 50
