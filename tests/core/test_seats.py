"""Seats and usage per client (core/views/seats.py): the figures equal a recount of
the rows the test made, across a month boundary that falls on different days in
different time zones; the CSV carries the page's figures; idle paid seats are
flagged; only a reseller's own clients appear; the query count does not grow
with the clients."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cobrowse_portal.core.choices import AccountStatus, Role, WorkspaceKind
from cobrowse_portal.core.middleware import SESSION_KEY
from cobrowse_portal.core.models import (
    Activity,
    Membership,
    UsageDay,
    UsageDayAgent,
    VendorAgent,
    Workspace,
)
from cobrowse_portal.core.views import seats
from cobrowse_portal.vendorkit import registry
from tests.conftest import make_user

from .conftest import make_account, make_samesurf_account

#: 03:00 UTC on the 1st of December: already December in Amsterdam, still the
#: 30th of November in Los Angeles.
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=ZoneInfo("UTC"))

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(seats, "now", lambda: NOW)
    return NOW


def _client(reseller, name, tz, **fields) -> Workspace:
    return Workspace.objects.create(
        name=name,
        slug=name.lower(),
        kind=WorkspaceKind.CLIENT,
        parent=reseller,
        time_zone=tz,
        **fields,
    )


def _agent(account, ext, *, last=None, removed=False, name=None) -> VendorAgent:
    return VendorAgent.objects.create(
        workspace=account.workspace,
        account=account,
        vendor=account.vendor,
        external_id=ext,
        name=name or f"Agent {ext}",
        email=f"{ext}@example.com",
        last_activity_at=last,
        removed_at=NOW if removed else None,
    )


def _usage(account, day: date, activities: int, seconds: int) -> UsageDay:
    return UsageDay.objects.create(
        workspace=account.workspace,
        account=account,
        vendor=account.vendor,
        day=day,
        activities=activities,
        seconds=seconds,
    )


def _activity(account, ext, started, *, removed=False) -> Activity:
    return Activity.objects.create(
        workspace=account.workspace,
        account=account,
        vendor=account.vendor,
        kind="cobrowse",
        external_id=ext,
        status="ended",
        started_at=started,
        removed_at=NOW if removed else None,
    )


@pytest.fixture
def world(reseller, personas):
    """Three live clients and an archived one of `reseller` (Acme), and a rival
    reseller whose client must never show."""
    from vendors.samesurf.models import SameSurfSubscription
    from vendors.surfly.models import SurflyClient

    globex = _client(reseller, "Globex", "America/Los_Angeles")
    umbrella = _client(reseller, "Umbrella", "Europe/Amsterdam")
    hooli = _client(reseller, "Hooli", "UTC")
    oldco = _client(reseller, "Oldco", "UTC", archived_at=NOW - timedelta(days=3))
    rival = Workspace.objects.create(
        name="Rival", slug="rival", kind=WorkspaceKind.RESELLER
    )
    rival_client = _client(rival, "Rivalclient", "UTC")

    acc = {
        "globex_surfly": make_account(globex, "Globex desk", status=AccountStatus.OK),
        "globex_samesurf": make_samesurf_account(globex, "Globex rooms", "g-ss"),
        "umbrella_surfly": make_account(umbrella, "Umbrella desk"),
        "umbrella_surfly2": make_account(
            umbrella, "Umbrella desk 2", status=AccountStatus.FAILING
        ),
        "hooli_samesurf": make_samesurf_account(hooli, "Hooli rooms", "h-ss"),
        "oldco_surfly": make_account(oldco, "Oldco desk", enabled=False),
        "rival_client_surfly": make_account(rival_client, "Rivalclient desk"),
    }
    # (set_credentials clears "needs attention", so the statuses come after it)
    for name, status in (
        ("globex_samesurf", AccountStatus.FAILING),
        ("umbrella_surfly", AccountStatus.NEEDS_ATTENTION),
    ):
        acc[name].status = status
        acc[name].save()
    # The resellers' own accounts, holding their records of each client.
    acme_surfly = make_account(reseller, "Acme reseller desk")
    acme_samesurf = make_samesurf_account(reseller, "Acme rooms", "a-ss")
    rival_surfly = make_account(rival, "Rival desk")
    common = {"synced_at": NOW}
    for account, ext, ws, count in (
        (acme_surfly, "c-globex", globex, 10),
        (acme_surfly, "c-umbrella", umbrella, 2),
        (acme_surfly, "c-unknown", hooli, None),  # no agent_count: unknown
        (acme_surfly, "c-oldco", oldco, 6),
        # Another reseller's record pointing at Acme's client: never counted.
        (rival_surfly, "c-rival-umbrella", umbrella, 50),
    ):
        SurflyClient.objects.create(
            account=account,
            external_id=ext,
            company_name=ext,
            agent_count=count,
            client_workspace=ws,
            **common,
        )
    SurflyClient.objects.create(
        account=acme_surfly,
        external_id="c-gone",
        company_name="gone",
        agent_count=40,
        client_workspace=globex,
        removed_at=NOW,
        **common,
    )
    for name, ws, licences, removed in (
        ("Globex A", globex, 5, False),
        ("Globex B", globex, 3, False),
        ("Globex gone", globex, 100, True),
        ("Hooli", hooli, 4, False),
        ("Umbrella", umbrella, 3, False),  # Umbrella has no SameSurf account
    ):
        SameSurfSubscription.objects.create(
            account=acme_samesurf,
            external_id=name,
            name=name,
            license_count=licences,
            client_workspace=ws,
            removed_at=NOW if removed else None,
            **common,
        )

    # Directory agents.
    g = acc["globex_surfly"]
    agents = {
        "g1": _agent(g, "g1", last=NOW - timedelta(days=2)),
        "g2": _agent(g, "g2", last=NOW - timedelta(days=40)),  # active by rollup
        "g3": _agent(g, "g3", last=NOW - timedelta(days=45), name="Gina Idle"),
        "g4": _agent(g, "g4", last=None, name="Never Seen"),
        "g5": _agent(g, "g5", last=NOW, removed=True),
    }
    for i, ext in enumerate(("u1", "u2", "u3")):
        _agent(acc["umbrella_surfly"], ext, last=NOW - timedelta(days=i))
    _agent(acc["rival_client_surfly"], "r1", last=NOW)
    # g2 ran a session 10 days ago (a rollup day in Globex's zone); g3's rollup
    # is older than the window.
    UsageDayAgent.objects.create(
        account=g, day=date(2026, 11, 20), agent_key="g2", activities=1
    )
    UsageDayAgent.objects.create(
        account=g, day=date(2026, 10, 20), agent_key="g3", activities=1
    )

    # Usage rollups around the month boundary (days in each client's zone).
    usage = []
    for account in (
        acc["globex_surfly"],
        acc["globex_samesurf"],
        acc["umbrella_surfly"],
        acc["umbrella_surfly2"],
        acc["oldco_surfly"],
        acc["rival_client_surfly"],
    ):
        for day, n, secs in (
            (date(2026, 9, 30), 7, 700),  # before both months
            (date(2026, 10, 1), 2, 125),
            (date(2026, 10, 31), 3, 300),
            (date(2026, 11, 1), 4, 240),
            (date(2026, 11, 30), 5, 610),
            (date(2026, 12, 1), 6, 3599),
        ):
            usage.append(_usage(account, day, n, secs + account.pk))
    # Activities: the newest one not removed is the last activity.
    _activity(g, "a1", NOW - timedelta(days=3))
    _activity(g, "a2", NOW - timedelta(days=1, hours=2))
    _activity(g, "a3", NOW - timedelta(hours=1), removed=True)
    _activity(acc["umbrella_surfly2"], "b1", NOW - timedelta(days=5))
    return {
        "clients": [globex, umbrella, hooli, oldco],
        "rival_client": rival_client,
        "accounts": acc,
        "agents": agents,
        "usage": usage,
    }


# --- an independent recount ------------------------------------------------------
def _months(ws) -> tuple[tuple[int, int], tuple[int, int]]:
    local = NOW.astimezone(ZoneInfo(ws.time_zone))
    this = (local.year, local.month)
    last = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return this, last


def recount(world, ws, vendor) -> dict:
    this, last = _months(ws)
    today = NOW.astimezone(ZoneInfo(ws.time_zone)).date()
    rows = [
        u
        for u in world["usage"]
        if u.workspace_id == ws.pk and u.vendor == vendor and u.day <= today
    ]

    def total(month, attr):
        return sum(getattr(u, attr) for u in rows if (u.day.year, u.day.month) == month)

    return {
        "this": (total(this, "activities"), round(total(this, "seconds") / 60)),
        "last": (total(last, "activities"), round(total(last, "seconds") / 60)),
    }


def _table(rows):
    return {row.workspace.slug: row for row in rows}


def test_figures_equal_a_recount(world, reseller, frozen):
    specs = registry.all_vendors()
    rows, hidden = seats.seat_table(reseller, specs, include_archived=False, at=NOW)
    table = _table(rows)
    assert list(table) == ["globex", "hooli", "umbrella"]  # by name; no archived
    assert hidden == 1
    for ws in world["clients"][:3]:
        for spec in specs:
            cell = table[ws.slug].cells[spec.slug]
            want = recount(world, ws, spec.slug)
            got = {
                "this": (cell.activities_this, cell.minutes_this),
                "last": (cell.activities_last, cell.minutes_last),
            }
            assert got == want, (ws.slug, spec.slug)
    # The boundary: Los Angeles is still in November, Amsterdam is in December.
    assert table["globex"].this_month == date(2026, 11, 1)
    assert table["umbrella"].this_month == date(2026, 12, 1)
    globex = table["globex"].cells["surfly"]
    # 1 and 30 November; a day dated 1 December has not come yet in Los Angeles.
    assert globex.activities_this == 4 + 5
    assert globex.activities_last == 2 + 3
    # Two Umbrella accounts add up; their health is the worst of the two.
    umbrella = table["umbrella"].cells["surfly"]
    assert umbrella.accounts == 2 and umbrella.activities_this == 6 * 2
    assert umbrella.health == AccountStatus.NEEDS_ATTENTION
    assert table["globex"].cells["samesurf"].health == AccountStatus.FAILING
    assert table["globex"].cells["surfly"].health == AccountStatus.OK
    assert table["hooli"].cells["surfly"].health == "none"
    # Agents: the client's own directory rows, not removed.
    assert globex.agents == 4 and umbrella.agents == 3
    assert table["hooli"].cells["surfly"].agents is None  # no account there
    # Last activity: the newest activity not removed.
    assert globex.last_activity == NOW - timedelta(days=1, hours=2)
    assert umbrella.last_activity == NOW - timedelta(days=5)


def test_licences_and_idle_seats(world, reseller, frozen):
    rows, _ = seats.seat_table(
        reseller, registry.all_vendors(), include_archived=True, at=NOW
    )
    table = _table(rows)
    globex, umbrella = table["globex"].cells, table["umbrella"].cells
    # Surfly: the reseller's own client records (not a rival's, not removed ones).
    assert globex["surfly"].licences == 10
    assert umbrella["surfly"].licences == 2
    assert table["hooli"].cells["surfly"].licences is None  # agent_count unknown
    # Active: g1 (seen 2 days ago) and g2 (a session in the window); g3 and g4
    # hold paid seats doing nothing.
    assert globex["surfly"].active == 2
    assert globex["surfly"].idle == 10 - 2
    assert [name for name, _ in globex["surfly"].idle_agents] == [
        "Gina Idle",
        "Never Seen",
    ]
    assert umbrella["surfly"].idle == 0
    # SameSurf: subscriptions' licences summed per client; SameSurf names no
    # agent, so with activity the seats in use are unknown, and without any
    # activity every seat is idle.
    assert globex["samesurf"].licences == 8
    assert globex["samesurf"].idle is None and globex["samesurf"].idle_note
    assert table["hooli"].cells["samesurf"].licences == 4
    assert table["hooli"].cells["samesurf"].idle == 4
    # Licensed, but no account of the client's own there: the use is unknown.
    assert umbrella["samesurf"].licences == 3
    assert umbrella["samesurf"].idle is None
    assert "no SameSurf account" in umbrella["samesurf"].idle_note
    # Vendors telling no licence count: no licences, no idle flag.
    for spec in registry.all_vendors():
        if not spec.seat_licences:
            for row in rows:
                assert row.cells[spec.slug].licences is None
                assert row.cells[spec.slug].idle is None
    assert table["oldco"].archived and table["oldco"].cells["surfly"].licences == 6
    assert table["oldco"].cells["surfly"].health == "off"


def _login(client, user, workspace=None):
    client.force_login(user)
    if workspace is not None:
        session = client.session
        session[SESSION_KEY] = workspace.pk
        session.save()
    return client


def _cells(html: str, slug: str) -> list[str]:
    row = re.search(rf'<tr[^>]*data-client="{slug}">(.*?)</tr>', html, re.S).group(1)
    return [
        re.sub(r"<[^>]+>", " ", c).split()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def test_the_page_and_the_csv_carry_the_same_figures(client, world, personas, frozen):
    _login(client, personas["manager"])
    response = client.get(reverse("core:client_seats"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Rivalclient" not in html and "Oldco" not in html
    assert "1 archived client not shown" in html
    assert "Gina Idle" in html and "8 idle" in html
    answer = client.get(reverse("core:client_seats_csv"))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(answer.content.decode())))
    header, body = lines[0], lines[1:]
    specs = registry.all_vendors()
    assert header[:6] == [
        "client",
        "slug",
        "time_zone",
        "archived",
        "this_month",
        "last_month",
    ]
    assert header[6:] == [f"{s.slug}_{f}" for s in specs for f in seats.CSV_FIELDS]
    assert [r[1] for r in body] == ["globex", "hooli", "umbrella"]
    # The page's column groups: the vendors some client has an account or
    # licences at; the others are named in a note (the CSV has every vendor).
    groups = re.findall(r'scope="colgroup"[^>]*>([^<]+)</th>', html)
    used = {
        spec.slug
        for spec in specs
        for line in body
        if dict(zip(header, line, strict=True))[f"{spec.slug}_accounts"] != "0"
        or dict(zip(header, line, strict=True))[f"{spec.slug}_licences"] != ""
    }
    assert groups == [s.label for s in specs if s.slug in used]
    assert used == {"samesurf", "surfly"}
    note = re.search(r'<span id="seats-unused">([^<]+)</span>', html).group(1)
    for spec in specs:
        assert (spec.label in note) == (spec.slug not in used)
    shown = [s for s in specs if s.slug in used]
    for line in body:
        record = dict(zip(header, line, strict=True))
        cells = _cells(html, record["slug"])
        assert len(cells) == 7 * len(shown)
        for i, spec in enumerate(shown):
            page = cells[i * 7 : (i + 1) * 7]
            p = f"{spec.slug}_"
            if record[p + "accounts"] == "0" and record[p + "licences"] == "":
                assert page[0] == ["—"]
                continue
            assert page[0] == [record[p + "agents"] or "—"]
            assert page[1] == [record[p + "licences"] or "—"]
            idle = record[p + "idle_seats"]
            if idle in ("", "0"):
                assert page[2][0] in ("—", "?", "0")
            else:
                assert page[2][:2] == [idle, "idle"]
            assert page[3] == [
                record[p + "activities_this_month"],
                "·",
                record[p + "minutes_this_month"],
            ]
            assert page[4] == [
                record[p + "activities_last_month"],
                "·",
                record[p + "minutes_last_month"],
            ]
    globex = dict(zip(header, body[0], strict=True))
    assert (globex["this_month"], globex["last_month"]) == ("2026-11", "2026-10")
    assert globex["surfly_idle_seats"] == "8"
    assert globex["surfly_active_agents_30d"] == "2"
    assert globex["surfly_last_activity"] == (
        (NOW - timedelta(days=1, hours=2))
        .astimezone(ZoneInfo("America/Los_Angeles"))
        .isoformat()
    )
    # Archived clients only when asked for, and marked.
    lines = list(
        csv.reader(
            io.StringIO(
                client.get(
                    reverse("core:client_seats_csv") + "?archived=1"
                ).content.decode()
            )
        )
    )
    assert [(r[1], r[3]) for r in lines[1:]] == [
        ("globex", "no"),
        ("hooli", "no"),
        ("oldco", "yes"),
        ("umbrella", "no"),
    ]
    html = client.get(reverse("core:client_seats") + "?archived=1").content.decode()
    assert re.search(r'<tr class="[^"]*seat-archived[^"]*" data-client="oldco">', html)


def test_one_vendor_and_bad_filters(client, world, personas, frozen):
    _login(client, personas["admin"])
    html = client.get(reverse("core:client_seats") + "?vendor=samesurf").content
    html = html.decode()
    assert html.count('scope="colgroup"') == 1
    lines = client.get(reverse("core:client_seats_csv") + "?vendor=samesurf")
    header = next(csv.reader(io.StringIO(lines.content.decode())))
    assert all(h.startswith("samesurf_") for h in header[6:])
    response = client.get(reverse("core:client_seats") + "?vendor=%00nope&archived=x")
    assert response.status_code == 200
    assert "Unknown vendor" in response.content.decode()
    # htmx: only the table part.
    part = client.get(reverse("core:client_seats"), headers={"HX-Request": "true"})
    assert b"seats-table" in part.content and b"<html" not in part.content


def test_scoping(client, world, personas, reseller, frozen):
    globex = world["clients"][0]
    globex_admin = make_user("gadmin", globex, Role.ADMIN)
    # A client workspace's admin: the page does not exist there.
    _login(client, globex_admin)
    assert client.get(reverse("core:client_seats")).status_code == 404
    assert client.get(reverse("core:client_seats_csv")).status_code == 404
    # A reseller admin who opened a client workspace: not there either.
    _login(client, personas["admin"], globex)
    assert client.get(reverse("core:client_seats")).status_code == 404
    # Agents of the reseller: 403.
    _login(client, personas["agent"])
    assert client.get(reverse("core:client_seats")).status_code == 403
    # The rival reseller's admin sees its own client only.
    rival = Workspace.objects.get(slug="rival")
    rival_admin = make_user("radmin", rival, Role.ADMIN)
    _login(client, rival_admin)
    html = client.get(reverse("core:client_seats")).content.decode()
    assert "Rivalclient" in html
    for ws in world["clients"]:
        assert f'data-client="{ws.slug}"' not in html
    body = client.get(reverse("core:client_seats_csv") + "?archived=1").content
    assert b"globex" not in body and b"rivalclient" in body


def test_the_sidebar_links_the_page_in_reseller_workspaces_only(
    client, world, personas
):
    url = reverse("core:client_seats")
    _login(client, personas["manager"])
    assert f'href="{url}"' in client.get(reverse("core:dashboard")).content.decode()
    _login(client, personas["agent"])
    assert f'href="{url}"' not in client.get(reverse("core:dashboard")).content.decode()
    _login(client, personas["admin"], world["clients"][0])
    assert f'href="{url}"' not in client.get(reverse("core:dashboard")).content.decode()
    _login(client, personas["outsider"])  # a standalone workspace
    assert f'href="{url}"' not in client.get(reverse("core:dashboard")).content.decode()


def _add_clients(reseller, n: int, start: int) -> None:
    for i in range(start, start + n):
        ws = _client(reseller, f"Client{i:03}", "Asia/Tokyo")
        surfly = make_account(ws, f"desk {i}")
        samesurf = make_samesurf_account(ws, f"rooms {i}", f"k{i}")
        for account in (surfly, samesurf):
            _usage(account, date(2026, 11, 29), 3, 180)
        _agent(surfly, f"x{i}", last=NOW - timedelta(days=50))
        _activity(surfly, f"act{i}", NOW - timedelta(days=2))
        UsageDayAgent.objects.create(
            account=surfly, day=date(2026, 11, 28), agent_key=f"x{i}", activities=1
        )


def test_the_query_count_does_not_grow_with_clients(
    client, reseller, personas, frozen, django_assert_max_num_queries
):
    _add_clients(reseller, 2, 0)
    _login(client, personas["manager"])
    client.get(reverse("core:client_seats"))  # warm caches (URL patterns, spec)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("core:client_seats")).status_code == 200
    _add_clients(reseller, 20, 2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("core:client_seats"))
    assert response.content.decode().count("data-client=") == 22
    with CaptureQueriesContext(connection) as few_csv:
        client.get(reverse("core:client_seats_csv"))
    _add_clients(reseller, 10, 22)
    with django_assert_max_num_queries(len(few_csv.captured_queries)):
        lines = client.get(reverse("core:client_seats_csv")).content.decode()
    assert len(lines.strip().splitlines()) == 1 + 32


def test_a_reseller_without_clients(client, personas):
    _login(client, personas["admin"])
    response = client.get(reverse("core:client_seats"))
    assert response.status_code == 200
    assert b"no client workspaces yet" in response.content
    lines = client.get(reverse("core:client_seats_csv")).content.decode()
    assert len(lines.strip().splitlines()) == 1


def test_a_spreadsheet_never_runs_a_client_name(client, reseller, personas):
    _client(reseller, "=HYPERLINK(1)", "UTC")
    Workspace.objects.filter(name="=HYPERLINK(1)").update(slug="formula")
    _login(client, personas["admin"])
    lines = client.get(reverse("core:client_seats_csv")).content.decode()
    assert "'=HYPERLINK(1)" in lines


def test_membership_of_the_reseller_never_opens_another(client, world, personas):
    # An admin of both: each reseller workspace shows its own clients.
    rival = Workspace.objects.get(slug="rival")
    Membership.objects.create(user=personas["admin"], workspace=rival, role="admin")
    _login(client, personas["admin"], rival)
    html = client.get(reverse("core:client_seats")).content.decode()
    assert 'data-client="rivalclient"' in html and 'data-client="globex"' not in html


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_demo_reseller_sees_its_client_with_figures(client, live_server):
    """`make run`'s demo: after `demo_setup` and the streams it schedules, the
    demo manager's Seats page shows Globex with real figures (its SameSurf
    subscription's licences, directory agents, usage)."""
    from io import StringIO

    from django.core.management import call_command

    from cobrowse_portal.core.models import VendorAccount
    from cobrowse_portal.vendorkit.runs import execute_stream
    from vendors.samesurf.models import SameSurfSubscription

    call_command("demo_setup", size=20, base_url=live_server.url, stdout=StringIO())
    for account in VendorAccount.objects.filter(workspace__slug="globex"):
        for stream in account.spec.streams:
            execute_stream(account.pk, stream.name)
    assert client.login(username="manager", password="demo-manager-2026")
    response = client.get(reverse("core:client_seats"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-client="globex"' in html
    reseller = Workspace.objects.get(slug="acme-resellers")
    rows, _ = seats.seat_table(reseller, registry.all_vendors(), include_archived=False)
    # Globex, and the two clients the demo provisions through the flow.
    assert sorted(r.workspace.slug for r in rows) == [
        "globex",
        "initech",
        "umbrella-health",
    ]
    (globex,) = [r for r in rows if r.workspace.slug == "globex"]
    licences = sum(
        SameSurfSubscription.objects.filter(
            client_workspace=globex.workspace, removed_at__isnull=True
        ).values_list("license_count", flat=True)
    )
    assert licences and globex.cells["samesurf"].licences == licences
    assert sum(c.agents or 0 for c in globex.cells.values()) > 0
    assert sum(c.activities_this + c.activities_last for c in globex.cells.values())
    csv_lines = client.get(reverse("core:client_seats_csv")).content.decode()
    assert len(csv_lines.strip().splitlines()) == 1 + len(
        rows
    )  # a header and a row per client
