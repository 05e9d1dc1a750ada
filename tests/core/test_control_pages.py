"""The control room's pages over the activity index: Live, Activity (filters,
search, keyset pages, streaming CSV), Dashboard tiles, Agents, Usage; each scoped
to the current workspace and role."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models.query import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core import pagecache
from cobrowse_portal.core.choices import ActivityKind, ActivityStatus, RunStatus
from cobrowse_portal.core.models import (
    Activity,
    ActivityTag,
    AgentIdentity,
    UsageDay,
    UsageDayAgent,
    VendorAccount,
    VendorAgent,
)
from cobrowse_portal.core.views import control
from cobrowse_portal.vendorkit import registry

from .conftest import make_account, make_run

LIVE = reverse("core:live")
ACTIVITY = reverse("core:activity")
ACTIVITY_CSV = reverse("core:activity_csv")
AGENTS = reverse("core:agents")
USAGE = reverse("core:usage")
USAGE_CSV = reverse("core:usage_csv")
DASHBOARD = reverse("core:dashboard")

_seq = iter(range(1, 10**9))


def act(account, **fields) -> Activity:
    n = next(_seq)
    tags = fields.pop("tags", [])
    defaults = {
        "workspace": account.workspace,
        "account": account,
        "vendor": account.vendor,
        "kind": ActivityKind.COBROWSE,
        "external_id": f"ext-{n}",
        "status": ActivityStatus.ENDED,
        "started_at": timezone.now() - timedelta(hours=1),
        "duration": 300,
        "tags": tags,
    }
    defaults.update(fields)
    row = Activity(**defaults)
    row.search = " ".join(
        [row.agent_name, row.visitor, row.url, row.title, *row.tags]
    ).lower()
    row.save()
    for tag in tags:
        ActivityTag.objects.create(
            workspace=account.workspace, activity=row, tag=tag.lower()
        )
    return row


def fake_account(workspace, name: str, vendor: str) -> VendorAccount:
    """An account of a vendor not registered (yet): bulk_create sends no signal,
    so no schedules are made for it (as for a vendor app not installed)."""
    account = VendorAccount(
        workspace=workspace, vendor=vendor, name=name, base_url="https://x.test"
    )
    account.set_credentials({"api_key": "k"})
    return VendorAccount.objects.bulk_create([account])[0]


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def table_cells(html: str, table_id: str) -> list[str]:
    chunk = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", chunk, re.S)[1:]


@pytest.fixture(autouse=True)
def _hand_made_index(request):
    """These tests write the index by hand: start without what the `portal`
    fixture's seeded vendor rows fed into it through the write path."""
    if "portal" in request.fixturenames:
        request.getfixturevalue("portal")
        for model in (ActivityTag, Activity, UsageDayAgent, UsageDay, VendorAgent):
            model.objects.all().delete()
        AgentIdentity.objects.all().delete()


# --- Live ----------------------------------------------------------------------------
def test_live_shows_every_open_row_of_the_workspace_only(portal, client):
    acc = portal.account
    samesurf = fake_account(portal.reseller, "Fake vendor desk", "samesurf")
    act(acc, status=ActivityStatus.LIVE, visitor="Visitor Alpha")
    act(acc, status=ActivityStatus.QUEUED, visitor="Visitor Queued")
    act(samesurf, status=ActivityStatus.LIVE, visitor="Visitor Samesurf")
    act(acc, status=ActivityStatus.ENDED, visitor="Visitor Ended")
    act(
        acc,
        status=ActivityStatus.LIVE,
        visitor="Visitor Removed",
        removed_at=timezone.now(),
    )
    act(portal.other_account, status=ActivityStatus.LIVE, visitor="Visitor Initech")
    client.force_login(portal.personas["agent"])
    html = client.get(LIVE).content.decode()
    for seen in ("Visitor Alpha", "Visitor Queued", "Visitor Samesurf"):
        assert seen in html
    for unseen in ("Visitor Ended", "Visitor Removed", "Visitor Initech"):
        assert unseen not in html
    assert "samesurf" in html  # an unregistered vendor shows under its slug
    assert 'hx-trigger="every 5s"' in html
    partial = client.get(LIVE, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "Visitor Alpha" in partial


def test_live_end_button_from_the_vendors_declared_action(portal, client, monkeypatch):
    """A vendor declaring `end_activity` gets an End button posting to its own end
    view, with the URL keywords of the activity's page (no pk stored on the row)."""
    session = portal.rows["session"]
    link = reverse("surfly:session_detail", args=[portal.account.pk, session.pk])
    act(portal.account, status=ActivityStatus.LIVE, external_id="s1", link=link)
    client.force_login(portal.personas["agent"])
    end = reverse("surfly:session_end", args=[portal.account.pk, session.pk])
    assert registry.get("surfly").end_activity == "surfly:session_end"
    html = client.get(LIVE).content.decode()
    assert f'action="{end}"' in html and f'href="{link}"' in html
    control._end_url.cache_clear()
    monkeypatch.setattr(registry.get("surfly"), "end_activity", "")
    pagecache.clear()  # a changed registry is no write: drop the kept page
    assert f'action="{end}"' not in client.get(LIVE).content.decode()


# --- Activity ------------------------------------------------------------------------
@pytest.fixture
def history(portal):
    acc = portal.account
    ann = AgentIdentity.objects.create(
        workspace=portal.reseller, email="ann@x.com", name="Ann Agent"
    )
    other_desk = fake_account(portal.reseller, "Second desk", "legacychat")
    now = timezone.now()
    rows = {
        "ann": act(
            acc,
            agent=ann,
            agent_name="Ann Agent",
            started_at=now - timedelta(days=1),
            tags=["VIP"],
        ),
        "legacychat": act(
            other_desk,
            started_at=now - timedelta(days=2),
            title="Checkout help",
            duration=40 * 60,
        ),
        "old": act(
            acc, started_at=now - timedelta(days=40), url="https://shop.example/cart"
        ),
        "live": act(acc, status=ActivityStatus.LIVE, visitor="Bob Visitor"),
        "outsider": act(portal.other_account, title="Initech secret"),
    }
    return {"ann": ann, "desk": other_desk, "rows": rows}


def shown(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-activity="(\d+)"', html)}


@pytest.mark.parametrize(
    "query, expect",
    [
        ({}, {"ann", "legacychat", "old", "live"}),
        ({"vendor": "legacychat"}, {"legacychat"}),
        ({"agent": "ANN"}, {"ann"}),
        ({"agent": "none"}, {"legacychat", "old", "live"}),
        ({"status": "live"}, {"live"}),
        ({"tag": "vip"}, {"ann"}),
        ({"min_minutes": "30"}, {"legacychat"}),
        ({"max_minutes": "10"}, {"ann", "old", "live"}),
        ({"q": "checkout"}, {"legacychat"}),
        ({"q": "SHOP.example"}, {"old"}),
        ({"q": "bob"}, {"live"}),
        ({"q": "initech"}, set()),
    ],
)
def test_activity_filters_and_search(portal, client, history, query, expect):
    rows = history["rows"]
    if query.get("agent") == "ANN":
        query = {"agent": str(history["ann"].pk)}
    client.force_login(portal.personas["manager"])
    response = client.get(ACTIVITY, query)
    assert response.status_code == 200
    html = response.content.decode()
    assert shown(html) == {rows[k].pk for k in expect}
    assert "Initech secret" not in html
    if query and not expect:
        assert "Nothing matches these filters" in html


def test_activity_account_and_date_range_in_workspace_time_zone(portal, client):
    portal.reseller.time_zone = "Pacific/Auckland"  # UTC+12/13
    portal.reseller.save()
    tz = ZoneInfo("Pacific/Auckland")
    acc = portal.account
    desk = make_account(portal.reseller, "Other desk")
    late = act(
        acc, started_at=datetime(2026, 3, 10, 23, 30, tzinfo=tz), title="late one"
    )
    act(acc, started_at=datetime(2026, 3, 11, 0, 30, tzinfo=tz), title="next day one")
    act(desk, started_at=datetime(2026, 3, 10, 12, 0, tzinfo=tz), title="other desk")
    client.force_login(portal.personas["manager"])
    html = client.get(
        ACTIVITY, {"since": "2026-03-10", "until": "2026-03-10", "account": acc.pk}
    ).content.decode()
    assert (
        "late one" in html and "next day one" not in html and "other desk" not in html
    )
    assert "2026-03-10 23:30" in html  # shown in the workspace's time zone
    assert late.pk


def test_activity_keyset_pages_push_the_url_and_do_not_overlap(portal, client):
    base = timezone.now()
    for i in range(60):
        act(
            portal.account,
            started_at=base - timedelta(minutes=i),
            title=f"row-{i:02d}-end",
        )
    client.force_login(portal.personas["manager"])
    first = client.get(ACTIVITY, {"vendor": "surfly"}).content.decode()
    titles1 = re.findall(r"row-\d\d-end", first)
    assert titles1 == [f"row-{i:02d}-end" for i in range(50)]
    next_url = re.search(r'class="pager".*?href="([^"]+)"', first, re.S).group(1)
    assert "vendor=surfly" in next_url and "after=" in next_url
    assert 'hx-push-url="true"' in first
    second = client.get(ACTIVITY + next_url.replace("&amp;", "&")).content.decode()
    assert re.findall(r"row-\d\d-end", second) == [
        f"row-{i:02d}-end" for i in range(50, 60)
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"after": "garbage!!"},
        {"after": "MjAyNi0xMy00MHwx"},  # "2026-13-40|1"
        {"account": "abc"},
        {"account": "99999999999999999999"},
        {"agent": "²"},
        {"since": "0001-01-01"},
        {"min_minutes": "-5", "max_minutes": "10000000000"},
        {"q": "x" * 500},
        {"tag": "%' OR 1=1 --"},
    ],
)
def test_activity_bad_input_is_never_a_500(portal, client, history, query):
    client.force_login(portal.personas["manager"])
    assert client.get(ACTIVITY, query).status_code == 200
    assert client.get(ACTIVITY_CSV, query).status_code == 200


def test_activity_query_count_is_flat_and_never_counts(portal, client, history):
    for _ in range(30):
        act(portal.account, tags=["t"])
    client.force_login(portal.personas["manager"])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(ACTIVITY, {"tag": "t", "q": "x"}).status_code == 200
    sql = [q["sql"].upper() for q in ctx.captured_queries]
    assert len(sql) <= 10
    assert not any("COUNT(" in s and "CORE_ACTIVITY" in s for s in sql)
    assert not any(" OFFSET " in s for s in sql)


# --- Activity CSV --------------------------------------------------------------------
def test_csv_export_streams_in_chunks(portal, client, monkeypatch):
    base = timezone.now()
    for i in range(2500):
        Activity(
            workspace=portal.reseller,
            account=portal.account,
            vendor="surfly",
            kind=ActivityKind.COBROWSE,
            external_id=f"bulk-{i}",
            status=ActivityStatus.ENDED,
            started_at=base - timedelta(seconds=i),
            title="=HYPERLINK(1)" if i == 0 else f"t{i}",
        ).save()
    act(portal.other_account, title="Initech secret")
    calls = []
    real_iterator = QuerySet.iterator

    def spy(self, chunk_size=None):
        calls.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    client.force_login(portal.personas["manager"])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(ACTIVITY_CSV)
        before = len(ctx.captured_queries)
    assert response.streaming
    assert calls == []  # nothing read before the body is consumed
    assert not any("core_activity" in q["sql"] for q in ctx.captured_queries[:before])
    chunks = iter(response.streaming_content)
    header = next(chunks).decode()
    first_batch = next(chunks).decode()
    after_first = list(calls)
    # Read to the end before asserting: on PostgreSQL an open COPY keeps the
    # connection busy until its generator ends or is closed (servers close it).
    rest = b"".join(chunks).decode()
    assert header.startswith("vendor,account,kind,id,status")
    if connection.vendor == "postgresql":  # COPY: the database streams the rows
        assert after_first == []
    else:
        assert after_first == [control.CSV_CHUNK]  # one chunked cursor, not a list
    assert first_batch.count("\n") == control.CSV_CHUNK  # one batch held, not all
    rows = list(csv.reader(io.StringIO(header + first_batch + rest)))
    assert len(rows) == 1 + 2500
    assert rows[1][3] == "bulk-0" and rows[1][11] == "'=HYPERLINK(1)"
    assert "Initech" not in rest
    assert response["Content-Disposition"].startswith("attachment;")


def test_csv_export_applies_the_filters(portal, client, history):
    client.force_login(portal.personas["manager"])
    text = body(client.get(ACTIVITY_CSV, {"vendor": "legacychat"}))
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == ["legacychat"]
    assert rows[1][1] == "Second desk" and rows[1][7] == str(40 * 60)


def test_activity_pages_are_for_managers_and_scoped(portal, client, history):
    client.force_login(portal.personas["agent"])
    assert client.get(ACTIVITY).status_code == 403
    assert client.get(ACTIVITY_CSV).status_code == 403
    client.force_login(portal.personas["outsider"])
    html = client.get(ACTIVITY).content.decode()
    assert "Initech secret" in html
    assert "Checkout help" not in html and "Bob Visitor" not in html
    text = body(client.get(ACTIVITY_CSV))
    assert "Checkout help" not in text and "Initech secret" in text
    assert "Bob Visitor" not in client.get(LIVE).content.decode()


# --- Dashboard -----------------------------------------------------------------------
def tile(html: str, slug: str) -> tuple[str, str]:
    chunk = html.split(f'data-kpi="{slug}"', 1)[1].split("</article>", 1)[0]
    today = re.search(r'kpi-today">([^<]+)<', chunk).group(1)
    week = re.search(r'kpi-week">([^<]+)<', chunk)
    return today, week.group(1) if week else None


def test_dashboard_tiles_from_rollups_live_rows_and_failed_runs(portal, client):
    acc, today = portal.account, control.local_today(portal.reseller)
    for back, n, secs in [(0, 4, 600), (1, 6, 1200), (6, 10, 60), (7, 100, 60)]:
        UsageDay.objects.create(
            workspace=portal.reseller,
            account=acc,
            vendor="surfly",
            day=today - timedelta(days=back),
            activities=n,
            seconds=secs,
        )
    UsageDay.objects.create(
        workspace=portal.other_workspace,
        account=portal.other_account,
        vendor="surfly",
        day=today,
        activities=999,
    )
    for back, key in [(0, "a"), (0, "b"), (2, "a"), (3, "c")]:
        UsageDayAgent.objects.create(
            account=acc, day=today - timedelta(days=back), agent_key=key
        )
    # The same person at a second account: counted once a day and once a week.
    desk = fake_account(portal.reseller, "Second desk", "upscope")
    for back in (0, 3):
        UsageDayAgent.objects.create(
            account=desk, day=today - timedelta(days=back), agent_key="a"
        )
    UsageDayAgent.objects.create(  # another workspace's agent: not counted
        account=portal.other_account, day=today, agent_key="z"
    )
    act(acc, status=ActivityStatus.LIVE)
    act(acc, status=ActivityStatus.QUEUED)
    act(acc, status=ActivityStatus.ENDED)
    act(portal.other_account, status=ActivityStatus.LIVE)
    make_run(acc, "history", RunStatus.FAILED)  # the fixture made one more today
    client.force_login(portal.personas["manager"])
    html = client.get(DASHBOARD).content.decode()
    assert tile(html, "activities") == ("4", "20")
    assert tile(html, "minutes") == ("10", "31")
    assert tile(html, "live-now") == ("2", None)
    assert tile(html, "agents-active") == ("2", "3")
    assert tile(html, "failed-runs") == ("2", "2")
    assert "<polyline" in html
    client.force_login(portal.personas["agent"])
    html = client.get(DASHBOARD).content.decode()
    assert 'data-kpi="failed-runs"' not in html and tile(html, "activities")[0] == "4"


def test_dashboard_tolerates_an_unregistered_vendor(portal, client):
    fake_account(portal.reseller, "Future vendor desk", "legacychat")
    client.force_login(portal.personas["admin"])
    html = client.get(DASHBOARD).content.decode()
    assert "legacychat · Future vendor desk" in html


# --- Agents --------------------------------------------------------------------------
@pytest.fixture
def directory(portal):
    ws, acc = portal.reseller, portal.account
    desk = fake_account(ws, "Legacy chat desk", "legacychat")
    ann = AgentIdentity.objects.create(workspace=ws, email="ann@x.com", name="Ann")
    bob = AgentIdentity.objects.create(workspace=ws, email="bob@x.com", name="Bob")

    def va(account, ext, identity=None, **kw):
        return VendorAgent.objects.create(
            workspace=ws,
            account=account,
            vendor=account.vendor,
            external_id=ext,
            identity=identity,
            **kw,
        )

    rows = {
        "ann_s": va(acc, "a1", ann, role="admin", free=True, name="Ann S"),
        "ann_u": va(desk, "u1", ann, role="agent", available=False),
        "bob_s": va(acc, "b1", bob, role="agent"),
        "stray": va(desk, "u9", None, name="Stray Person", email="s@y.com"),
    }
    for _ in range(3):
        act(acc, agent=ann, agent_external_id="a1")
    act(acc, agent=ann, started_at=timezone.now() - timedelta(days=31))
    act(desk, agent_external_id="u9", agent_name="Stray Person")
    other = AgentIdentity.objects.create(
        workspace=portal.other_workspace, email="eve@x.com", name="Eve Initech"
    )
    return {"ann": ann, "bob": bob, "desk": desk, "other": other, **rows}


def test_agents_directory_columns_missing_and_counts(portal, client, directory):
    client.force_login(portal.personas["manager"])
    html = client.get(AGENTS).content.decode()
    rows = {
        re.search(r'data-person="([^"]+)"', r).group(1): r
        for r in table_cells(html, "directory")
    }
    assert set(rows) == {"ann@x.com", "bob@x.com"}
    assert "Eve Initech" not in html
    ann, bob = rows["ann@x.com"], rows["bob@x.com"]
    assert ann.count("exists") == 2 and "free" in ann and "away" in ann
    assert re.search(r'class="text-end">3</td>', ann)  # last 30 days only
    assert (
        "missing" in bob
        and "legacychat · Legacy chat desk" in bob
        or "legacychat" in bob
    )
    missing = client.get(AGENTS, {"missing": "1"}).content.decode()
    assert "bob@x.com" in missing and 'data-person="ann@x.com"' not in missing
    unlinked = html.split('id="unlinked"', 1)[1]
    assert "Stray Person" in unlinked


def test_link_and_unlink_by_hand(portal, client, directory):
    client.force_login(portal.personas["manager"])
    stray, bob = directory["stray"], directory["bob"]
    response = client.post(
        reverse("core:agent_link"), {"vendor_agent": stray.pk, "identity": bob.pk}
    )
    assert response.status_code == 302
    stray.refresh_from_db()
    assert stray.identity == bob and stray.linked_by_hand
    assert Activity.objects.get(agent_external_id="u9").agent == bob
    client.post(reverse("core:agent_unlink"), {"vendor_agent": stray.pk})
    stray.refresh_from_db()
    assert stray.identity is None and stray.linked_by_hand
    assert Activity.objects.get(agent_external_id="u9").agent is None


def test_link_refuses_another_workspaces_rows(portal, client, directory):
    client.force_login(portal.personas["manager"])
    stray = directory["stray"]
    for data in (
        {"vendor_agent": stray.pk, "identity": directory["other"].pk},
        {"vendor_agent": "abc", "identity": "²"},
        {},
    ):
        assert client.post(reverse("core:agent_link"), data).status_code == 302
    stray.refresh_from_db()
    assert stray.identity is None and not stray.linked_by_hand
    client.force_login(portal.personas["outsider"])
    client.post(reverse("core:agent_unlink"), {"vendor_agent": directory["ann_s"].pk})
    directory["ann_s"].refresh_from_db()
    assert directory["ann_s"].identity == directory["ann"]
    client.force_login(portal.personas["agent"])
    assert client.get(AGENTS).status_code == 403


# --- Usage ---------------------------------------------------------------------------
@pytest.fixture
def usage_rows(portal):
    desk = fake_account(portal.reseller, "Legacy chat desk", "legacychat")
    today = control.local_today(portal.reseller)
    monday = today - timedelta(days=today.weekday())
    for account, back, n, secs in [
        (portal.account, 0, 3, 600),
        (portal.account, 1, 5, 120),
        (desk, 0, 7, 60),
        (portal.account, 60, 1000, 60),  # outside the default 30 days
    ]:
        UsageDay.objects.create(
            workspace=portal.reseller,
            account=account,
            vendor=account.vendor,
            day=today - timedelta(days=back),
            activities=n,
            seconds=secs,
            agents=2,
        )
    UsageDay.objects.create(
        workspace=portal.other_workspace,
        account=portal.other_account,
        vendor="surfly",
        day=today,
        activities=4242,
    )
    for day in (monday, monday + timedelta(days=1)):
        for key in ("a", "b"):
            UsageDayAgent.objects.create(account=portal.account, day=day, agent_key=key)
    return {"desk": desk, "today": today, "monday": monday}


def test_usage_table_chart_data_and_csv(portal, client, usage_rows):
    today = usage_rows["today"]
    client.force_login(portal.personas["manager"])
    html = client.get(USAGE).content.decode()
    assert 'id="usage-data"' in html and "<canvas" in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/charts.js" in html
    assert "4242" not in html and "1000" not in html
    text = body(client.get(USAGE_CSV))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["day", "vendor", "activities", "minutes", "agents"]
    assert [today.isoformat(), "Surfly", "3", "10", "2"] in rows
    assert [today.isoformat(), "legacychat", "7", "1", "2"] in rows
    assert len(rows) == 4


def test_usage_per_week_by_account_counts_distinct_agents(portal, client, usage_rows):
    client.force_login(portal.personas["manager"])
    monday = usage_rows["monday"]
    text = body(
        client.get(
            USAGE_CSV,
            {
                "period": "week",
                "by": "account",
                "since": (monday - timedelta(days=7)).isoformat(),
                "until": usage_rows["today"].isoformat(),
            },
        )
    )
    rows = list(csv.reader(io.StringIO(text)))
    mine = [r for r in rows if r[0] == monday.isoformat() and "Zebracorn" in r[1]]
    assert len(mine) == 1 and mine[0][4] == "2"  # a, b over two days: 2, not 4


@pytest.mark.parametrize(
    "query",
    [
        {"since": "2026-05-01", "until": "2026-01-01"},
        {"since": "0001-01-01"},
        {"since": "1900-01-01", "until": "9000-01-01"},
        {"period": "year", "by": "moon"},
        {"since": "yesterday"},
    ],
)
def test_usage_bad_input_is_never_a_500(portal, client, usage_rows, query):
    client.force_login(portal.personas["manager"])
    assert client.get(USAGE, query).status_code == 200
    assert client.get(USAGE_CSV, query).status_code == 200


def test_usage_is_for_managers(portal, client):
    client.force_login(portal.personas["agent"])
    assert client.get(USAGE).status_code == 403
    assert client.get(USAGE_CSV).status_code == 403


def test_human_durations():
    h = control.human_duration
    assert [
        h(None),
        h(45),
        h(15 * 60),
        h(3900),
        h(7200),
        h(86400),
        h(3 * 86400 + 7200),
    ] == [
        "—",
        "45 s",
        "15 min",
        "1 h 5 min",
        "2 h",
        "1 day",
        "3 days 2 h",
    ]
    assert date  # imported for the fixtures' arithmetic
