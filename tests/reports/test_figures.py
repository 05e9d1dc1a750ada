"""A report's figures equal an independent recount of the rows it covers."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.core.models import UsageDay
from cobrowse_portal.reports import engine, sections
from tests.core.conftest import make_run

from .conftest import activity, agent, definition

AMS = ZoneInfo("Europe/Amsterdam")
#: Sent Monday 30 March 2026 07:00 Amsterdam: the week 23-29 March, whose Sunday
#: is the 23-hour day of the spring change.
NOW = datetime(2026, 3, 30, 7, tzinfo=AMS).astimezone(UTC)
WEEK_START = datetime(2026, 3, 23, tzinfo=AMS)
WEEK_END = datetime(2026, 3, 30, tzinfo=AMS)


def table(figures, title):
    for part in figures["sections"]:
        for t in part["tables"]:
            if t["title"] == title:
                return t
    raise AssertionError(f"no table {title!r}")


@pytest.fixture
def world(reseller, client_workspace, other_workspace, accounts):
    for ws in (reseller, client_workspace, other_workspace):
        ws.time_zone = "Europe/Amsterdam"
        ws.save()
    rnd = random.Random(14)
    people = {
        "reseller": [agent(reseller, "Ann"), agent(reseller, "Bob")],
        "client": [agent(client_workspace, "Cleo")],
        "other": [agent(other_workspace, "Otto")],
    }
    made = []
    span = (WEEK_END - WEEK_START + timedelta(days=14)).total_seconds()
    for key, account in accounts.items():
        for _ in range(60):
            at = WEEK_START - timedelta(days=7) + timedelta(seconds=rnd.random() * span)
            who = rnd.choice([*people[key], None])
            removed = NOW if rnd.random() < 0.1 else None
            made.append(
                activity(account, at, rnd.randint(0, 3600), who, removed_at=removed)
            )
    # Right at the edges: local midnight opening the week is in, closing it is out.
    made.append(activity(accounts["reseller"], WEEK_START.astimezone(UTC), 120))
    made.append(activity(accounts["reseller"], WEEK_END.astimezone(UTC), 120))
    made.append(
        activity(accounts["reseller"], WEEK_END.astimezone(UTC) - timedelta(seconds=1))
    )
    usage = []
    for account in accounts.values():
        for offset in range(-7, 7):
            day = date(2026, 3, 23) + timedelta(days=offset)
            usage.append(
                UsageDay.objects.create(
                    workspace=account.workspace,
                    account=account,
                    vendor=account.vendor,
                    day=day,
                    activities=rnd.randint(0, 20),
                    seconds=rnd.randint(0, 20000),
                )
            )
    runs = []
    for account in accounts.values():
        for _ in range(25):
            at = WEEK_START - timedelta(days=3) + timedelta(hours=rnd.random() * 240)
            status = rnd.choice([RunStatus.SUCCEEDED, RunStatus.FAILED])
            runs.append(
                make_run(
                    account,
                    status=status,
                    queued_at=at,
                    error="boom" * (status == "failed"),
                )
            )
    return {"activities": made, "usage": usage, "runs": runs, "accounts": accounts}


def in_week(at):
    return WEEK_START <= at < WEEK_END


def recount_activity(rows, workspace_ids):
    counts, seconds = Counter(), Counter()
    for a in rows:
        if (
            a.workspace_id in workspace_ids
            and a.removed_at is None
            and in_week(a.started_at)
        ):
            key = (a.workspace.name, a.vendor, a.account.name)
            counts[key] += 1
            seconds[key] += a.duration or 0
    return sorted([*k, counts[k], round(seconds[k] / 60)] for k in counts)


@pytest.mark.parametrize("covers_clients", [False, True])
def test_figures_equal_a_recount(world, reseller, client_workspace, covers_clients):
    d = definition(reseller, include_clients=covers_clients)
    period = engine.period_for(d, NOW)
    assert period.start == WEEK_START and period.end == WEEK_END
    figures = engine.compute(d, period)
    ids = {reseller.pk} | ({client_workspace.pk} if covers_clients else set())

    got = table(figures, "Activity per vendor and account")["rows"]
    assert sorted(got) == recount_activity(world["activities"], ids)
    assert sum(r[3] for r in got) > 10  # the scenario is not empty

    agents = Counter()
    for a in world["activities"]:
        if a.workspace_id in ids and a.removed_at is None and in_week(a.started_at):
            agents[
                (a.workspace.name, a.agent.name if a.agent else "(no agent matched)")
            ] += 1
    got = table(figures, "Agent activity")["rows"]
    assert {(r[0], r[1]): r[2] for r in got} == dict(agents)

    now_u, before_u = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    for u in world["usage"]:
        if u.workspace_id not in ids:
            continue
        key = (u.workspace.name, u.vendor, u.account.name)
        if date(2026, 3, 23) <= u.day <= date(2026, 3, 29):
            now_u[key][0] += u.activities
            now_u[key][1] += u.seconds
        elif date(2026, 3, 16) <= u.day <= date(2026, 3, 22):
            before_u[key][0] += u.activities
            before_u[key][1] += u.seconds
    got = table(figures, "Usage against the previous period")["rows"]
    assert {tuple(r[:3]): (r[3], r[4], r[6], r[7]) for r in got} == {
        k: (
            now_u[k][0],
            before_u[k][0],
            round(now_u[k][1] / 60),
            round(before_u[k][1] / 60),
        )
        for k in set(now_u) | set(before_u)
    }

    runs = [
        r
        for r in world["runs"]
        if r.account.workspace_id in ids and in_week(r.queued_at)
    ]
    got = table(figures, "Sync health")["rows"]
    assert {tuple(r[:3]): tuple(r[3:]) for r in got} == {
        (r.account.workspace.name, r.account.vendor, r.account.name): (
            sum(1 for x in runs if x.account_id == r.account_id),
            sum(
                1
                for x in runs
                if x.account_id == r.account_id and x.status == "succeeded"
            ),
            sum(
                1 for x in runs if x.account_id == r.account_id and x.status == "failed"
            ),
        )
        for r in runs
    }
    failed = table(figures, "Failed runs")["rows"]
    assert len(failed) == sum(1 for r in runs if r.status == "failed")
    names = {w for row in failed for w in [row[1]]}
    assert "Initech" not in names
    assert figures["workspaces"] == ["Acme", *(["Globex"] if covers_clients else [])]


def test_a_daily_report_at_seven_picks_the_dst_day(accounts, reseller):
    reseller.time_zone = "Europe/Amsterdam"
    reseller.save()
    account = accounts["reseller"]
    # Sunday 29 March 2026 (23 hours): 00:00 CET = 23:00 UTC on the 28th,
    # 24:00 = 00:00 CEST on the 30th = 22:00 UTC on the 29th.
    activity(account, datetime(2026, 3, 28, 22, 59, tzinfo=UTC))  # Saturday
    activity(account, datetime(2026, 3, 28, 23, 0, tzinfo=UTC))  # Sunday 00:00
    activity(account, datetime(2026, 3, 29, 21, 59, tzinfo=UTC))  # Sunday 23:59
    activity(account, datetime(2026, 3, 29, 22, 0, tzinfo=UTC))  # Monday
    d = definition(reseller, frequency="daily", sections=["activity"])
    run = engine.deliver(d, now=datetime(2026, 3, 30, 5, 0, tzinfo=UTC))  # 07:00
    assert run.figures["first_day"] == run.figures["last_day"] == "2026-03-29"
    assert table(run.figures, "Activity per vendor and account")["rows"][0][3] == 2


def test_sections_are_a_registry_another_app_can_extend(reseller, accounts):
    before = sections._SECTIONS.pop("example", None)
    sections.register(
        "example",
        "Example",
        lambda scope: [
            {
                "title": "Open alerts",
                "columns": ["n"],
                "rows": [[len(scope.workspaces)]],
            }
        ],
        order=50,
    )
    try:
        assert ("example", "Example") in sections.choices()
        d = definition(reseller, sections=["example"])
        figures = engine.compute(d, engine.period_for(d))
        assert table(figures, "Open alerts")["rows"] == [[1]]
    finally:
        sections._SECTIONS.pop("example")
        if before is not None:
            sections._SECTIONS["example"] = before
    # A stored section whose app is gone is left out, not a crash.
    assert engine.compute(d, engine.period_for(d))["sections"] == []
