"""Surfly list pages at scale: a fixed number of queries whatever the rows, at most
two of them per-request overhead (the session; the user with their workspaces and
roles), list filters read indexes, and the tag table stays in step with every
write path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.vendorkit.bulk import upsert
from vendors.surfly.models import CobrowseSession, SurflyAgent

from .fake_api import make_account

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _render_every_request(settings):
    """These pin what rendering a page costs; a kept page's answer (3 statements)
    is pinned in tests/core/test_pagecache.py."""
    settings.PAGE_CACHE = False


def _session(account, n, **kw):
    fields = {
        "external_id": f"q-{n}",
        "api_id": f"q-{n}",
        "formatted_id": f"900-000-{n:03d}",
        "start_time": timezone.now() - timedelta(minutes=n),
        "is_active": n % 2 == 0,
        "tags": ["vip", f"t{n}"],
        "pin": f"{1000 + n}",
        "agent_id": "42",
        "raw": {"big": "x" * 100},
        "meta": {"k": n},
    }
    fields.update(kw)
    return CobrowseSession.objects.create(account=account, **fields)


def _agents(account, start, n):
    for i in range(start, start + n):
        SurflyAgent.objects.create(
            account=account, external_id=str(100 + i), name=f"Agent {i}", email="a@x"
        )


def _queries(client, path, **headers):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **headers)
    assert response.status_code == 200, path
    return [q["sql"] for q in ctx.captured_queries]


PAGES = {
    "dashboard": lambda account: reverse("core:dashboard"),
    "live": lambda account: reverse("surfly:live", args=[account.pk]),
    "history": lambda account: reverse("surfly:history", args=[account.pk]),
    "history_tag": lambda account: (
        reverse("surfly:history", args=[account.pk]) + "?tags=vip&pin=1002"
    ),
    "agents": lambda account: reverse("surfly:agents", args=[account.pk]),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_list_pages_make_a_fixed_number_of_queries(
    personas, login, account, page, settings
):
    client = login(personas["manager"])
    path = PAGES[page](account)
    for n in range(3):
        _session(account, n)
    _agents(account, 0, 2)
    client.get(path)  # warm: the first request may save the session
    few = _queries(client, path)
    for n in range(3, 60):
        _session(account, n)
    _agents(account, 2, 30)
    many = _queries(client, path)
    assert len(many) == len(few), "\n".join(many)
    # The htmx fragment of the page costs no more than the page.
    assert len(_queries(client, path, **HX)) <= len(many)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_per_request_overhead_is_two_queries(personas, login, account, page):
    """The session, and the user with the workspaces and the user's roles there
    (one query): the sidebar, the switcher and the page's account lookup add none
    of their own."""
    client = login(personas["manager"])
    _session(account, 2)
    path = PAGES[page](account)
    client.get(path)
    sql = _queries(client, path)
    overhead = [
        q
        for q in sql
        if "django_session" in q
        or 'FROM "auth_user"' in q
        or "core_workspace" in q
        or "core_membership" in q
        or ('FROM "core_vendoraccount"' in q and '"core_vendoraccount"."name"' in q)
    ]
    # The page's own account lookup is one of the view's queries, shared with the
    # sidebar; the workspace query carries the memberships as subqueries. (The
    # dashboard's figures read accounts' pks only, beside their counts.)
    accounts = [q for q in overhead if 'FROM "core_vendoraccount"' in q]
    assert len(accounts) == 1, "\n".join(overhead)
    assert len(overhead) - len(accounts) <= 2, "\n".join(overhead)


EXPECTED_QUERIES = {
    # session, the user with workspaces+role, accounts (the view's own, shared with
    # the sidebar); the tiles: usage per day, open activities, agents per day and
    # in all, failed runs per day; every account's beat schedules (one query), the
    # Surfly accounts' live and agent counts (one query); then the recent failed runs;
    # the open alerts panel (managers, one query: alerts app).
    "dashboard": 11,
    # + rows, agent names
    "live": 5,
    # + agents (filter choices and names), one page of rows
    "history": 5,
    "history_tag": 6,  # + the tag index lookup
    # + agents, pending writes ("any agent at all?" only when none is listed)
    "agents": 5,
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_list_pages_exact_query_count(personas, login, account, page):
    client = login(personas["manager"])
    for n in range(10):
        _session(account, n)
    _agents(account, 0, 5)
    path = PAGES[page](account)
    client.get(path)
    sql = _queries(client, path)
    assert len(sql) == EXPECTED_QUERIES[page], "\n".join(sql)


def test_dashboard_queries_are_constant_in_accounts(personas, login, account):
    """One query of schedules for every account, one of figures per vendor: a
    second and third Surfly account add none (each once cost three)."""
    client = login(personas["manager"])
    path = PAGES["dashboard"](account)
    _session(account, 0)
    client.get(path)
    one = _queries(client, path)
    for n in (2, 3):
        other = make_account(account.workspace, f"Desk {n}")
        _session(other, 100 + n)
        _agents(other, 10 * n, 2)
    three = _queries(client, path)
    assert len(three) == len(one) == EXPECTED_QUERIES["dashboard"], "\n".join(three)


def _history_sql(client, account, query):
    path = reverse("surfly:history", args=[account.pk]) + query
    sql = [
        q
        for q in _queries(client, path)
        if 'FROM "surfly_cobrowsesession"' in q and "ORDER BY" in q
    ]
    assert len(sql) == 1, sql
    return sql[0]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


def _page_sql(client, account, query):
    path = reverse("surfly:history", args=[account.pk]) + query
    sql = _queries(client, path)
    rows = [q for q in sql if 'FROM "surfly_cobrowsesession"' in q and "ORDER BY" in q]
    tags = [q for q in sql if 'FROM "core_activitytag"' in q and "ORDER BY" not in q]
    return rows, tags


def test_rare_tag_is_read_from_the_tag_index(personas, login, account):
    client = login(personas["manager"])
    for n in range(20):
        _session(account, n)
    rows, tags = _page_sql(client, account, "?tags=T7")
    assert len(tags) == 1 and '"tag" = ' in tags[0] and "LIKE" not in tags[0].upper()
    assert len(rows) == 1 and "LIKE" not in rows[0].upper()
    if connection.vendor == "sqlite":
        assert "core_acttag_lookup" in _plan(tags[0])
        # The few sessions, looked up directly by their key.
        assert "(account_id=? AND external_id=?)" in _plan(rows[0])


def test_tag_that_matches_nothing_reads_no_session_row(personas, login, account):
    client = login(personas["manager"])
    for n in range(20):
        _session(account, n)
    rows, tags = _page_sql(client, account, "?tags=nothing-has-this")
    assert len(tags) == 1 and rows == []
    if connection.vendor == "sqlite":
        assert "core_acttag_lookup" in _plan(tags[0])


def test_common_tag_is_probed_per_row_through_an_index(
    personas, login, account, monkeypatch
):
    from vendors.surfly.views import sessions

    monkeypatch.setattr(sessions, "RARE_TAG", 3)
    client = login(personas["manager"])
    for n in range(20):
        _session(account, n)
    rows, _ = _page_sql(client, account, "?tags=vip")
    assert len(rows) == 1 and "EXISTS" in rows[0].upper(), rows
    assert "LIKE" not in rows[0].upper()
    assert (
        len(
            client.get(reverse("surfly:history", args=[account.pk]) + "?tags=VIP")
            .context["page"]
            .rows
        )
        == 20
    )
    if connection.vendor == "sqlite":
        plan = _plan(rows[0])
        assert "surfly_sess_start_idx" in plan and "core_acttag_lookup" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
        assert "SCAN U" not in plan, plan  # each probe an index lookup


@pytest.mark.parametrize(
    ("query", "index"),
    [("?pin=1003", "surfly_sess_pin_idx"), ("?agent=42", "surfly_sess_agent_idx")],
)
def test_pin_and_agent_filters_read_an_index(personas, login, account, query, index):
    client = login(personas["manager"])
    SurflyAgent.objects.create(account=account, external_id="42", name="Alice")
    for n in range(20):
        _session(account, n)
    rows, _ = _page_sql(client, account, query)
    assert len(rows) == 1
    if connection.vendor == "sqlite":
        plan = _plan(rows[0])
        assert index in plan and "TEMP B-TREE" not in plan, plan


def test_live_reads_the_partial_index_of_active_rows(personas, login, account):
    client = login(personas["manager"])
    for n in range(20):
        _session(account, n)
    path = reverse("surfly:live", args=[account.pk])
    sql = [q for q in _queries(client, path) if 'FROM "surfly_cobrowsesession"' in q]
    assert len(sql) == 1
    assert '"is_active"' in sql[0] and '"removed_at" IS NULL' in sql[0]
    if connection.vendor == "sqlite":
        plan = _plan(sql[0])
        assert "surfly_sess_live_idx" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # already in page order


def test_list_pages_leave_json_columns_unread(personas, login, account):
    client = login(personas["manager"])
    _session(account, 2)
    for name in ("live", "history"):
        path = reverse(f"surfly:{name}", args=[account.pk])
        sql = [
            q for q in _queries(client, path) if '"surfly_cobrowsesession"."id"' in q
        ]
        assert sql, name
        for column in ("raw", "meta", "options"):
            assert f'"surfly_cobrowsesession"."{column}"' not in sql[0], (name, column)
        assert '"surfly_cobrowsesession"."tags"' in sql[0]  # shown on both pages


# --- the tag table follows every write path -------------------------------------------
def _tags(account):
    from cobrowse_portal.core.models import ActivityTag  # the one tag table

    return {
        (t.activity.external_id, t.tag)
        for t in ActivityTag.objects.filter(activity__account=account).select_related(
            "activity"
        )
    }


def test_one_tag_table_the_control_rooms(account):
    """Surfly's sessions keep no tag table of their own: the history filter reads
    the control room's (core.ActivityTag), which every write path keeps."""
    from django.apps import apps

    assert not any(
        m._meta.app_label == "surfly" and "tag" in m._meta.model_name
        for m in apps.get_models()
    )
    with CaptureQueriesContext(connection) as ctx:
        upsert(CobrowseSession, account, [_row("a", ["VIP"])])
        _session(account, 1, tags=["one"])
    assert not any("surfly_sessiontag" in q["sql"] for q in ctx.captured_queries)


def _row(ext, tags, **kw):
    return {"external_id": ext, "raw": {"id": ext, "tags": tags}, "tags": tags, **kw}


def test_tag_table_follows_sync_upsert(account):
    upsert(CobrowseSession, account, [_row("a", ["VIP", "billing"]), _row("b", [])])
    assert _tags(account) == {("a", "vip"), ("a", "billing")}
    # A changed row: its tags are replaced; the other row keeps none.
    upsert(CobrowseSession, account, [_row("a", ["sales"]), _row("b", ["Vip", "vip"])])
    assert _tags(account) == {("a", "sales"), ("b", "vip")}
    # Tags removed at the vendor go from the table too.
    upsert(CobrowseSession, account, [_row("a", []), _row("b", [])])
    assert _tags(account) == set()


def test_tag_table_follows_webhook_apply(account):
    from types import SimpleNamespace

    from vendors.surfly.webhooks import SurflyWebhookHandler

    def event(seq, kind, tags):
        data = {"session_id": "w1", "tags": tags, "start_time": "2024-01-01T10:00:00Z"}
        return SimpleNamespace(
            payload={"sequence_id": seq, "type": kind, "data": data},
            sequence=seq,
            event_type=kind,
        )

    handler = SurflyWebhookHandler()
    handler.apply(account, event(1, "session.started", ["Support"]))
    assert _tags(account) == {("w1", "support")}
    handler.apply(account, event(2, "session.ended", ["support", "escalated"]))
    assert _tags(account) == {("w1", "support"), ("w1", "escalated")}


def test_tag_table_follows_save_and_delete(account):
    session = _session(account, 1, tags=["one"])
    assert _tags(account) == {("q-1", "one")}
    session = CobrowseSession.objects.get(pk=session.pk)
    session.tags = ["two"]
    session.save()
    assert _tags(account) == {("q-1", "two")}
    session.save(update_fields=["pin"])  # tags untouched: the table too
    assert _tags(account) == {("q-1", "two")}
    session.delete()
    assert _tags(account) == set()


def test_tag_filter_matches_whole_tags_any_case(personas, login, account):
    client = login(personas["manager"])
    _session(account, 1, tags=["Billing", "vip"])
    _session(account, 2, tags=["billing-extra"])
    _session(account, 3, tags=[])
    path = reverse("surfly:history", args=[account.pk])
    page = client.get(path + "?tags=billing").context["page"]
    assert [s.external_id for s in page.rows] == ["q-1"]
    page = client.get(path + "?tags=BILLING,vip").context["page"]
    assert [s.external_id for s in page.rows] == ["q-1"]
    page = client.get(path + "?tags=bill").context["page"]
    assert page.rows == []


@pytest.mark.parametrize("page", ["live", "history", "agents"])
def test_no_reverse_per_row(personas, login, account, page, monkeypatch):
    """Row links are formatted from one reversed pattern per URL name."""
    import django.urls

    from cobrowse_portal.core import urlcache

    calls = []
    # {% url %} imports django.urls.reverse when it renders; urlcache at import.
    for module in (django.urls, urlcache):
        real = module.reverse
        monkeypatch.setattr(
            module, "reverse", lambda *a, _r=real, **k: calls.append(a) or _r(*a, **k)
        )
    client = login(personas["manager"])
    path = PAGES[page](account)

    def count():
        calls.clear()
        assert client.get(path).status_code == 200
        return len(calls)

    for n in range(2):
        _session(account, n, is_active=True)
    _agents(account, 0, 2)
    count()
    few = count()
    for n in range(2, 40):
        _session(account, n, is_active=True)
    _agents(account, 2, 38)
    assert count() == few
