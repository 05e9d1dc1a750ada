"""The control room stays fast at a million activities: each page reads the index
the way the benchmark (`make bench BENCH=control`) measured, and its queries are
a constant number whatever the number of rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cobrowse_portal.core.choices import ActivityStatus
from cobrowse_portal.core.models import Activity, UsageDayAgent

from .conftest import make_account, make_samesurf_account, seed_samesurf_rows
from .test_control_pages import (
    ACTIVITY,
    DASHBOARD,
    LIVE,
    USAGE,
    USAGE_CSV,
    _hand_made_index,  # noqa: F401  (the autouse fixture: start from an empty index)
    act,
    body,
    fake_account,
)

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's planner and search bound"
)


@pytest.fixture(autouse=True)
def _render_every_request(settings):
    """These pin what rendering a page costs; a kept page's answer (3 statements)
    is pinned in tests/core/test_pagecache.py."""
    settings.PAGE_CACHE = False


def _captured(client, path, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params)
    assert response.status_code == 200
    return response, [q["sql"] for q in ctx.captured_queries]


class _Sent:
    """The statements as sent to the database: SQL and its bound parameters
    (captured_queries shows them interpolated, which hides what the planner sees)."""

    def __init__(self):
        self.calls = []

    def __call__(self, execute, sql, params, many, context):
        self.calls.append((sql, params))
        return execute(sql, params, many, context)


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(row[-1]) for row in cursor.fetchall())


def _open_rows_queries(calls):
    return [
        (sql, params)
        for sql, params in calls
        if "core_activity" in sql and "removed_at" in sql and "status" in sql
    ]


# --- Live and the dashboard's "Live now" read the partial index ----------------------
@sqlite_only
@pytest.mark.parametrize("path", [LIVE, DASHBOARD])
def test_open_rows_are_read_through_the_partial_index(portal, client, path):
    """SQLite uses `core_act_ws_open` only when the query repeats its condition
    literally: with the statuses as bound parameters it walked the workspace's
    whole start-time index (200 ms at a million rows)."""
    act(portal.account, status=ActivityStatus.LIVE, visitor="Visitor Live")
    client.force_login(portal.personas["manager"])
    sent = _Sent()
    with connection.execute_wrapper(sent):
        assert client.get(path).status_code == 200
    queries = _open_rows_queries(sent.calls)
    assert len(queries) == 1, sent.calls
    assert "USING INDEX core_act_ws_open" in _plan(*queries[0])


def test_live_rows_keep_their_cells_and_escape_them(portal, client):
    act(
        portal.account,
        status=ActivityStatus.QUEUED,
        visitor="<b>Eve</b>",
        agent_name="Ann",
        url="https://x.test/" + "p" * 100,
        tags=["vip"],
    )
    client.force_login(portal.personas["agent"])
    html = client.get(LIVE).content.decode()
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html and "<b>Eve</b>" not in html
    assert 'class="badge badge-' in html and "Queued" in html
    assert '<span class="badge text-bg-light">vip</span>' in html
    assert "p" * 100 not in html and "…" in html


# --- constant queries, whatever the rows ---------------------------------------------
#: Per page: the 2 of every request (the session; the user with the workspaces and
#: roles),
#: then Live: the open rows, the accounts (labels); Activity: the accounts, the
#: agents (filter choices), the page (+ a rare tag's ids from the tag index;
#: + a search's candidate ids from SQLite's FTS5 table; the trigram sample is
#: read once an hour per process, here in the warm-up request);
#: Dashboard: 11 with the Surfly account, as tests/vendors/surfly/test_list_queries.py
#: pins, + 1 for SameSurf's figures (one query for all its accounts; the schedules of
#: every account are one query), + 1 each for Serviceform's and Smartsupp's figures
#: (Upscope declares none); Usage: the
#: accounts, the rollups (+ the weekly distinct agents).
@pytest.mark.parametrize(
    "path, params, expected",
    [
        (LIVE, {}, 4),
        (ACTIVITY, {}, 5),
        (ACTIVITY, {"q": "visitor"}, 6 if connection.vendor == "sqlite" else 5),
        (ACTIVITY, {"tag": "vip"}, 6),
        (DASHBOARD, {}, 14),  # + the open alerts panel (managers)
        (USAGE, {}, 4),
        (USAGE, {"period": "week"}, 5),
    ],
)
def test_page_queries_are_constant_in_rows(portal, client, path, params, expected):
    client.force_login(portal.personas["manager"])
    desk = fake_account(portal.reseller, "Legacy chat desk", "legacychat")

    def add(n):
        for i in range(n):
            for account in (portal.account, desk):
                act(account, status=ActivityStatus.LIVE, visitor=f"visitor {i}")
                act(account, visitor=f"visitor ended {i}", tags=["vip"])

    add(1)
    client.get(path, params)  # warm the per-process caches
    _, few = _captured(client, path, **params)
    add(30)
    _, many = _captured(client, path, **params)
    assert len(many) == len(few), (few, many)
    assert len(many) == expected, many
    for sql in many:
        upper = sql.upper()
        assert " OFFSET " not in upper
        assert not ("COUNT(" in upper and "CORE_ACTIVITY" in upper), sql


def test_dashboard_queries_are_constant_in_accounts(portal, client):
    """1 and 3 accounts of each vendor: the same queries (schedules of every
    account in one, each vendor's figures in one), and each card its own figures."""
    client.force_login(portal.personas["manager"])
    client.get(DASHBOARD)
    _, one = _captured(client, DASHBOARD)
    for n in (2, 3):
        surfly = make_account(portal.reseller, f"Surfly desk {n}")
        act(surfly, status=ActivityStatus.LIVE, visitor=f"visitor {n}")
        rooms = make_samesurf_account(portal.reseller, f"Rooms {n}", f"k-{n}")
        seed_samesurf_rows(rooms, f"Rooms {n}")
    response, three = _captured(client, DASHBOARD)
    assert len(three) == len(one) == 14, three  # with the open alerts panel
    assert "Surfly desk 3" in body(response) and "Rooms 3" in body(response)


# --- Usage per week: the database's own week start -----------------------------------
def test_usage_weeks_start_on_monday_in_sql(portal, client):
    """Sunday belongs to the week before; Monday starts one. Grouped in SQL (no
    Python function per row, which cost most of the 1-year weekly page)."""
    monday = date(2026, 3, 2)
    for day, key in [
        (monday - timedelta(days=1), "sun"),  # Sunday: the week of Feb 23
        (monday, "a"),
        (monday + timedelta(days=6), "b"),  # the Sunday ending Monday's week
        (monday + timedelta(days=6), "a"),
    ]:
        UsageDayAgent.objects.create(account=portal.account, day=day, agent_key=key)
    client.force_login(portal.personas["manager"])
    params = {
        "period": "week",
        "since": (monday - timedelta(days=7)).isoformat(),
        "until": (monday + timedelta(days=13)).isoformat(),
    }
    text = body(client.get(USAGE_CSV, params))
    agents = {
        line.split(",")[0]: line.split(",")[-1].strip()
        for line in text.splitlines()[1:]
    }
    assert agents == {"2026-02-23": "1", "2026-03-02": "2"}
    _, sqls = _captured(client, USAGE, **params)
    assert not any("django_date_trunc" in s for s in sqls)


# --- keyset pages seek to the cursor ---------------------------------------------
def test_keyset_page_seeks_the_index_to_its_cursor(portal, client):
    """The cursor's condition carries a plain `started_at <= value` bound the index
    can start from: with only `< value OR (= value AND id < pk)` the 500th page
    walked the first 25,000 rows of the workspace's index."""
    now = timezone.now()
    for i in range(60):
        act(portal.account, visitor=f"v{i}", started_at=now - timedelta(minutes=i))
    client.force_login(portal.personas["manager"])
    html = client.get(ACTIVITY).content.decode()
    after = html.split("after=", 1)[1].split('"', 1)[0].split("&", 1)[0]
    sent = _Sent()
    with connection.execute_wrapper(sent):
        html = client.get(ACTIVITY, {"after": after}).content.decode()
    assert html.count("data-activity=") == 10
    (sql, params), *_ = [
        (q, p) for q, p in sent.calls if 'FROM "core_activity"' in q and "LIMIT 51" in q
    ]
    plan = _plan(sql, params) if connection.vendor == "sqlite" else ""
    if connection.vendor == "sqlite":
        assert "core_act_ws_start (workspace_id=? AND started_at<?)" in plan, plan
    else:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(r[0] for r in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
        assert "Index Cond" in plan and "started_at <=" in plan, plan


def test_usage_weekly_totals_are_grouped_in_sql(portal, client):
    """A year per week reads one row per (account, week) from the rollups, summed
    by the database, not 365 rows per account summed in Python; the sums are the
    same (Sunday in the week before, Monday starting one)."""
    from cobrowse_portal.core.models import UsageDay

    monday = date(2026, 3, 2)
    for day, n, seconds in [
        (monday - timedelta(days=1), 1, 60),
        (monday, 2, 120),
        (monday + timedelta(days=6), 3, 180),
        (monday + timedelta(days=7), 4, 240),
    ]:
        UsageDay.objects.create(
            workspace=portal.reseller,
            account=portal.account,
            vendor=portal.account.vendor,
            day=day,
            activities=n,
            seconds=seconds,
        )
    client.force_login(portal.personas["manager"])
    params = {
        "period": "week",
        "since": (monday - timedelta(days=7)).isoformat(),
        "until": (monday + timedelta(days=13)).isoformat(),
    }
    text = body(client.get(USAGE_CSV, params))
    rows = {
        line.split(",")[0]: line.strip().split(",")[2:4]
        for line in text.splitlines()[1:]
    }
    assert rows == {
        "2026-02-23": ["1", "1"],
        "2026-03-02": ["5", "5"],
        "2026-03-09": ["4", "4"],
    }
    _, sqls = _captured(client, USAGE, **params)
    (rollups,) = [s for s in sqls if 'FROM "core_usageday" ' in s]
    assert "GROUP BY" in rollups and "SUM(" in rollups.upper(), rollups


# --- the index keeps only indexes a page or the write path reads --------------------
def _index_columns() -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        table = Activity._meta.db_table
        found = connection.introspection.get_constraints(cursor, table)
    return sorted(
        tuple(c["columns"])
        for c in found.values()
        if (c["index"] or c["unique"]) and not c["primary_key"]
    )


@pytest.mark.django_db
def test_activity_keeps_only_the_indexes_pages_and_the_write_path_read():
    """Every index on the activity table costs each write of the index (a sync
    writes one row per session): these and no more. The agent filter's index
    starts with the agent, so it is also the agent foreign key's."""
    expected = [
        ("account_id", "kind", "external_id"),  # the write path's key
        ("agent_external_id", "account_id"),  # an agent linked later
        ("agent_id", "workspace_id", "started_at", "id"),  # agent filter, FK
        ("workspace_id", "account_id", "started_at", "id"),  # account filter
        ("workspace_id", "started_at", "id"),  # keyset pages
        ("workspace_id", "started_at", "id"),  # Live: open rows only
        ("workspace_id", "vendor", "started_at", "id"),  # vendor filter
    ]
    if connection.vendor == "postgresql":
        expected.append(("search",))  # the trigram index (search)
    assert _index_columns() == sorted(expected)


def test_agent_filter_reads_the_agent_index_in_page_order(portal, client):
    from cobrowse_portal.core.models import AgentIdentity

    ann = AgentIdentity.objects.create(
        workspace=portal.account.workspace, email="ann@x.test", name="Ann"
    )
    now = timezone.now()
    for i in range(30):
        act(portal.account, agent=ann if i % 3 else None, started_at=now - timedelta(i))
    client.force_login(portal.personas["manager"])
    sent = _Sent()
    with connection.execute_wrapper(sent):
        html = client.get(ACTIVITY, {"agent": str(ann.pk)}).content.decode()
    assert html.count("data-activity=") == 20
    (sql, params), *_ = [
        (q, p) for q, p in sent.calls if 'FROM "core_activity"' in q and "LIMIT 51" in q
    ]
    if connection.vendor == "sqlite":
        plan = _plan(sql, params)
        assert "core_act_agent_start (agent_id=? AND workspace_id=?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
