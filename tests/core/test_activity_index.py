"""The control room's write path: vendor rows feed Activity / ActivityTag /
VendorAgent / UsageDay in the same transaction as the vendor write, through the
registry's declarations; webhooks reach it too; the directory matches by e-mail;
rollups stay equal to a recount; the rebuild gives the same rows."""

from __future__ import annotations

import random
import zoneinfo
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus
from cobrowse_portal.core.directory import (
    DirectoryError,
    link_agent,
    rematch_agent,
    unlink_agent,
)
from cobrowse_portal.core.models import (
    Activity,
    ActivityTag,
    AgentIdentity,
    UsageDay,
    UsageDayAgent,
    VendorAgent,
    Workspace,
)
from cobrowse_portal.core.tasks import process_webhook_events
from cobrowse_portal.core.urlcache import url_for
from cobrowse_portal.vendorkit import activity as index
from cobrowse_portal.vendorkit.bulk import mark_removed, reconcile, upsert
from vendors.surfly.models import CobrowseSession, SurflyAgent

from .conftest import make_account

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def session(i, *, start=T0, duration=600, agent="7", tags=("Sales",), **extra):
    ended = duration is not None
    row = {
        "external_id": f"s{i}",
        "api_id": f"a{i}",
        "formatted_id": f"100-200-{i:03d}",
        "agent_id": agent,
        "start_time": start,
        "end_time": start + timedelta(seconds=duration) if ended else None,
        "duration": duration,
        "is_active": not ended,
        "queued": False,
        "start_url": f"https://shop.example/p/{i}",
        "meta": {"name": f"Visitor {i}"},
        "tags": list(tags),
    }
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items() if k != "raw"}
    return row


def surfly_agent(ext, email, name="Ann", **extra):
    row = {"external_id": ext, "name": name, "email": email, "role": "agent"}
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items()}
    return row


@pytest.fixture
def account(reseller):
    return make_account(reseller, "Main")


# --- the registry declaration and the same-transaction write --------------------------
def test_upserted_sessions_are_indexed_with_tags_link_and_directory_name(account):
    upsert(SurflyAgent, account, [surfly_agent("7", " Ann@Example.COM ")])
    upsert(CobrowseSession, account, [session(1, tags=("Sales", "sales", "VIP"))])
    act = Activity.objects.get()
    row = CobrowseSession.objects.get()
    assert (act.workspace_id, act.account_id, act.vendor, act.kind) == (
        account.workspace_id,
        account.pk,
        "surfly",
        ActivityKind.COBROWSE,
    )
    assert act.external_id == "s1" and act.status == ActivityStatus.ENDED
    assert (act.started_at, act.duration) == (T0, 600)
    assert act.ended_at == T0 + timedelta(seconds=600)
    assert act.agent_external_id == "7" and act.agent_name == "Ann"
    assert act.agent == AgentIdentity.objects.get(email="ann@example.com")
    assert act.visitor == "Visitor 1" and act.title == "100-200-001"
    assert act.url == "https://shop.example/p/1"
    assert act.tags == ["Sales", "VIP"]
    assert sorted(ActivityTag.objects.values_list("tag", flat=True)) == ["sales", "vip"]
    assert act.link == url_for(
        "surfly:session_detail", account_id=account.pk, pk=row.pk
    )
    assert "visitor 1" in act.search and "vip" in act.search


def test_live_and_queued_sessions_have_open_statuses(account):
    upsert(
        CobrowseSession,
        account,
        [session(1, duration=None), session(2, duration=None, queued=True)],
    )
    statuses = dict(Activity.objects.values_list("external_id", "status"))
    assert statuses == {"s1": ActivityStatus.LIVE, "s2": ActivityStatus.QUEUED}


def test_a_failing_index_write_stores_no_vendor_rows_either(account, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("index write failed")

    monkeypatch.setattr(index.bulk, "write_rows", _fail_for(Activity, broken))
    with pytest.raises(RuntimeError):
        upsert(CobrowseSession, account, [session(1), session(2)])
    assert not CobrowseSession.objects.exists()
    assert not Activity.objects.exists() and not UsageDay.objects.exists()


def _fail_for(model, fail):
    original = index.bulk.write_rows

    def write_rows(target, *args, **kwargs):
        if target is model:
            fail()
        return original(target, *args, **kwargs)

    return write_rows


def test_a_failing_directory_write_stores_no_agents_either(account, monkeypatch):
    def broken():
        raise RuntimeError("directory write failed")

    monkeypatch.setattr(index.bulk, "write_rows", _fail_for(VendorAgent, broken))
    with pytest.raises(RuntimeError):
        reconcile(SurflyAgent, account, [surfly_agent("7", "a@x.test")])
    assert not SurflyAgent.objects.exists() and not VendorAgent.objects.exists()


def index_statements(ctx) -> int:
    """Statements on the control room's tables (not the vendor's own)."""
    return sum('"core_' in q["sql"] for q in ctx.captured_queries)


def test_index_write_costs_a_constant_number_of_statements_per_batch(reseller):
    def statements(n: int, offset: int) -> int:
        account = make_account(reseller, f"Q{offset}")
        account.workspace  # noqa: B018 - the time zone's read is once per account
        rows = [
            session(offset + i, agent=str(i % 5), tags=(f"t{i % 3}",)) for i in range(n)
        ]
        with CaptureQueriesContext(connection) as ctx:
            upsert(CobrowseSession, account, rows)
        first = index_statements(ctx)
        # Every row changed: the updates path (rollups move, tags change).
        rows = [
            session(offset + i, duration=900, agent=str(i % 5 + 1), tags=("x",))
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as ctx:
            upsert(CobrowseSession, account, rows)
        return first, index_statements(ctx)

    small, large = statements(5, 0), statements(400, 1000)
    assert small == large
    # SQLite: a batch with new activities adds them to the text index with three
    # statements of its own (pause the insert trigger, one INSERT ... SELECT,
    # resume) instead of one trigger statement per row.
    sqlite = connection.vendor == "sqlite"
    # One of them moves the workspace's page-cache generation (core.pagecache).
    assert small[0] <= 11 + (3 if sqlite else 0)
    assert small[1] <= 11


def test_the_index_maps_the_batch_it_is_given_without_reading_it_back(account):
    """Bulk upsert hands the index the dicts it just wrote: the vendor rows are not
    read back (only their ids, and the columns the dicts did not carry)."""
    upsert(SurflyAgent, account, [surfly_agent("7", "ann@x.test")])
    rows = [session(i) for i in range(20)]
    with CaptureQueriesContext(connection) as ctx:
        upsert(CobrowseSession, account, rows)
    reads = [  # the columns each read of the vendor table selects
        q["sql"].split(" FROM ")[0]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT") and '"surfly_cobrowsesession"' in q["sql"]
    ]
    assert reads
    for column in ("start_url", "meta", "start_time", "formatted_id"):
        assert not any(f'"{column}"' in sql for sql in reads), column
    # …and what it indexed is what was written.
    act = Activity.objects.get(external_id="s3")
    assert (act.url, act.visitor, act.agent_name) == (
        "https://shop.example/p/3",
        "Visitor 3",
        "Ann",
    )
    assert act.link.endswith(
        f"/sessions/{CobrowseSession.objects.get(external_id='s3').pk}/"
    )


def test_a_batch_of_new_rows_takes_its_keys_from_the_write_itself(account):
    """All new: the INSERT returns the rows' keys (RETURNING), so the vendor
    table is read once, for the fingerprints before the write, and the index
    links each activity to its own row. A batch with a stored row among them
    still reads back what it must. (PostgreSQL reads the keys in the probe that
    also finds the activities they replace: cheaper there than two reads.)"""
    if connection.vendor != "sqlite" or not (
        connection.features.can_return_rows_from_bulk_insert
    ):
        pytest.skip("SQLite 3.35+: the index takes the keys the write returned")

    def vendor_reads(ctx) -> list[str]:
        return [
            q["sql"]
            for q in ctx.captured_queries
            if q["sql"].startswith("SELECT") and '"surfly_cobrowsesession"' in q["sql"]
        ]

    with CaptureQueriesContext(connection) as ctx:
        upsert(CobrowseSession, account, [session(i) for i in range(30)])
    reads = vendor_reads(ctx)
    assert len(reads) == 1 and '"fingerprint"' in reads[0]
    links = dict(Activity.objects.values_list("external_id", "link"))
    for pk, ext in CobrowseSession.objects.values_list("pk", "external_id"):
        assert links[ext].endswith(f"/sessions/{pk}/"), ext
    # One stored row among new ones: their keys and stored columns are read.
    with CaptureQueriesContext(connection) as ctx:
        upsert(CobrowseSession, account, [session(29, duration=5), session(30)])
    assert len(vendor_reads(ctx)) == 2
    assert Activity.objects.get(external_id="s29").duration == 5
    assert Activity.objects.get(external_id="s30").link.endswith(
        f"/sessions/{CobrowseSession.objects.get(external_id='s30').pk}/"
    )


def test_a_batch_of_new_rows_indexes_the_defaults_of_what_it_did_not_carry(account):
    """A batch whose rows were all new reads back only their keys: the columns its
    dicts did not carry hold their defaults. A batch with a stored row among them
    reads those columns, so the stored values reach the index."""

    def without_url(row):
        row = {k: v for k, v in row.items() if k != "start_url"}
        row["raw"] = {**row["raw"], "changed": "yes"}
        return row

    with CaptureQueriesContext(connection) as ctx:
        upsert(CobrowseSession, account, [without_url(session(i)) for i in (1, 2)])
    reads = [
        q["sql"].split(" FROM ")[0]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT") and '"surfly_cobrowsesession"' in q["sql"]
    ]
    assert reads and not any('"start_url"' in sql for sql in reads)
    assert set(Activity.objects.values_list("url", flat=True)) == {""}

    # Stored with a URL, then a batch without it (and one new row beside it):
    # the stored URL is read back and indexed; the new row's is its default.
    upsert(CobrowseSession, account, [session(3)])
    with CaptureQueriesContext(connection) as ctx:
        upsert(
            CobrowseSession, account, [without_url(session(3)), without_url(session(4))]
        )
    assert any(
        '"start_url"' in q["sql"].split(" FROM ")[0]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT") and '"surfly_cobrowsesession"' in q["sql"]
    )
    urls = dict(Activity.objects.values_list("external_id", "url"))
    assert urls["s3"] == "https://shop.example/p/3" and urls["s4"] == ""
    assert CobrowseSession.objects.get(external_id="s3").start_url == urls["s3"]


def test_a_batchs_links_read_the_urlconf_once_not_per_row(account, monkeypatch):
    """Row links are formatted from patterns; the URLconf and script prefix (each
    a context-local read) are read once per batch, not once per row."""
    from cobrowse_portal.core import urlcache

    reads = Counter()
    for name in ("get_urlconf", "get_script_prefix"):
        original = getattr(urlcache, name)

        def counted(*args, _name=name, _original=original):
            reads[_name] += 1
            return _original(*args)

        monkeypatch.setattr(urlcache, name, counted)
    upsert(CobrowseSession, account, [session(i) for i in range(50)])
    assert Activity.objects.filter(account=account).count() == 50
    assert 1 <= reads["get_urlconf"] <= 2 and reads["get_script_prefix"] <= 2, reads
    # …and the links are still right.
    pk = CobrowseSession.objects.get(external_id="s7").pk
    assert Activity.objects.get(external_id="s7").link == url_for(
        "surfly:session_detail", account_id=account.pk, pk=pk
    )


def test_the_index_write_takes_no_savepoint_of_its_own(account):
    """One savepoint per batch (the upsert's), none for each table inside it."""
    from django.db import transaction

    rows = [surfly_agent(str(i), f"a{i}@x.test") for i in range(10)]
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        upsert(SurflyAgent, account, rows)
    savepoints = [q for q in ctx.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1
    assert VendorAgent.objects.filter(account=account).count() == 10


# --- removal --------------------------------------------------------------------------
def test_reconcile_removals_reach_the_directory_and_activities(account):
    reconcile(
        SurflyAgent,
        account,
        [surfly_agent("7", "a@x.test"), surfly_agent("8", "b@x.test")],
    )
    reconcile(SurflyAgent, account, [surfly_agent("7", "a@x.test")])
    assert VendorAgent.objects.get(external_id="8").removed_at is not None
    assert VendorAgent.objects.get(external_id="7").removed_at is None

    upsert(CobrowseSession, account, [session(1), session(2)])
    assert UsageDay.objects.get().activities == 2
    mark_removed(CobrowseSession, account, {"s1"})
    assert Activity.objects.get(external_id="s2").removed_at is not None
    day = UsageDay.objects.get()
    assert (day.activities, day.seconds) == (1, 600)
    # It comes back: restored and counted again.
    upsert(CobrowseSession, account, [session(2)])
    assert Activity.objects.get(external_id="s2").removed_at is None
    assert UsageDay.objects.get().activities == 2


def test_a_deleted_vendor_row_takes_its_activity_and_share_with_it(account):
    upsert(CobrowseSession, account, [session(1), session(2, agent="9")])
    CobrowseSession.objects.get(external_id="s2").delete()
    assert list(Activity.objects.values_list("external_id", flat=True)) == ["s1"]
    day = UsageDay.objects.get()
    assert (day.activities, day.seconds, day.agents) == (1, 600, 1)


# --- the webhook (single-row) path ----------------------------------------------------
def deliver(account, seq, kind, **data):
    from cobrowse_portal.core.models import WebhookEvent

    WebhookEvent.objects.create(
        account=account,
        external_id=str(seq),
        sequence=seq,
        event_type=kind,
        payload={
            "sequence_id": seq,
            "type": kind,
            "data": {"session_id": "w1", **data},
        },
    )
    process_webhook_events(account.pk)


def test_webhook_applied_sessions_reach_the_index(account):
    deliver(
        account, 1, "session.started", start_time="2026-10-01T12:00:00Z", tags=["Help"]
    )
    act = Activity.objects.get(external_id="w1")
    assert act.status == ActivityStatus.LIVE and act.tags == ["Help"]
    assert act.link.endswith(f"/sessions/{CobrowseSession.objects.get().pk}/")
    deliver(
        account,
        2,
        "session.ended",
        end_time="2026-10-01T12:30:00Z",
        duration=1800,
    )
    act.refresh_from_db()
    assert act.status == ActivityStatus.ENDED and act.duration == 1800
    day = UsageDay.objects.get()
    assert (day.activities, day.seconds) == (1, 1800)


def test_queryset_updates_reach_the_index(account):
    """Surfly's live pull ends a session it can no longer fetch with an UPDATE."""
    upsert(CobrowseSession, account, [session(1, duration=None)])
    assert Activity.objects.get().status == ActivityStatus.LIVE
    index.update_rows(
        CobrowseSession.objects.filter(external_id="s1"), account, is_active=False
    )
    assert Activity.objects.get().status == ActivityStatus.ENDED


# --- the agent directory --------------------------------------------------------------
def test_directory_matches_by_normalised_email_across_accounts(reseller):
    one, two = make_account(reseller, "One"), make_account(reseller, "Two")
    upsert(SurflyAgent, one, [surfly_agent("1", "Ann@X.test "), surfly_agent("2", "")])
    upsert(SurflyAgent, two, [surfly_agent("9", " ann@x.TEST", name="Ann B")])
    ann = AgentIdentity.objects.get()
    assert ann.email == "ann@x.test" and ann.workspace == reseller
    linked = VendorAgent.objects.filter(identity=ann)
    assert sorted(linked.values_list("account__name", "external_id")) == [
        ("One", "1"),
        ("Two", "9"),
    ]
    assert VendorAgent.objects.get(external_id="2").identity is None
    # Another workspace's Ann is another person.
    other = Workspace.objects.create(name="Other", slug="other")
    upsert(SurflyAgent, make_account(other, "O"), [surfly_agent("1", "ann@x.test")])
    assert AgentIdentity.objects.count() == 2


def test_activities_follow_an_agent_linked_later_and_by_hand(account, reseller):
    upsert(CobrowseSession, account, [session(1, agent="7"), session(2, agent="8")])
    assert not Activity.objects.filter(agent__isnull=False).exists()
    upsert(SurflyAgent, account, [surfly_agent("7", "ann@x.test")])
    ann = AgentIdentity.objects.get(email="ann@x.test")
    s1 = Activity.objects.get(external_id="s1")
    assert s1.agent == ann and s1.agent_name == "Ann" and "ann" in s1.search
    assert Activity.objects.get(external_id="s2").agent is None

    # A manager links agent 8 (another e-mail) to Ann by hand; a sync keeps it.
    upsert(SurflyAgent, account, [surfly_agent("8", "annie@home.test", name="A")])
    eight = VendorAgent.objects.get(external_id="8")
    assert eight.identity.email == "annie@home.test"
    link_agent(eight, ann)
    assert Activity.objects.get(external_id="s2").agent == ann
    upsert(SurflyAgent, account, [surfly_agent("8", "annie@home.test", name="A2")])
    eight.refresh_from_db()
    assert eight.identity == ann and eight.linked_by_hand and eight.name == "A2"

    unlink_agent(eight)
    upsert(SurflyAgent, account, [surfly_agent("8", "annie@home.test", name="A3")])
    eight.refresh_from_db()
    assert eight.identity is None
    assert Activity.objects.get(external_id="s2").agent is None
    rematch_agent(eight)
    eight.refresh_from_db()
    assert eight.identity.email == "annie@home.test" and not eight.linked_by_hand
    assert Activity.objects.get(external_id="s2").agent == eight.identity

    other = Workspace.objects.create(name="Other", slug="other")
    stranger = AgentIdentity.objects.create(workspace=other, email="s@x.test")
    with pytest.raises(DirectoryError):
        link_agent(eight, stranger)


# --- usage rollups --------------------------------------------------------------------
def test_usage_days_count_in_the_workspace_time_zone(account, reseller):
    reseller.time_zone = "America/New_York"
    reseller.save()
    account.refresh_from_db()
    late = datetime(2026, 10, 2, 2, 0, tzinfo=UTC)  # 22:00 on Oct 1st in New York
    upsert(CobrowseSession, account, [session(1, start=late)])
    assert list(UsageDay.objects.values_list("day", flat=True)) == [
        late.astimezone(zoneinfo.ZoneInfo("America/New_York")).date()
    ]


def test_an_activity_that_moves_day_or_changes_adjusts_both_days(account):
    upsert(CobrowseSession, account, [session(1, agent="7"), session(2, agent="7")])
    day1 = T0.date()
    upsert(
        CobrowseSession,
        account,
        [session(2, start=T0 + timedelta(days=1), duration=60, agent="8")],
    )
    days = {d.day: (d.activities, d.seconds, d.agents) for d in UsageDay.objects.all()}
    assert days == {day1: (1, 600, 1), day1 + timedelta(days=1): (1, 60, 1)}
    assert UsageDayAgent.objects.filter(day=day1).count() == 1


def recount(accounts) -> dict:
    """Usage computed from scratch from the index (not from its counted_* fields)."""
    out: dict = defaultdict(lambda: [0, 0, set()])
    for a in Activity.objects.filter(account__in=accounts, removed_at__isnull=True):
        if a.started_at is None:
            continue
        zone = zoneinfo.ZoneInfo(a.workspace.time_zone)
        key = (a.account_id, a.started_at.astimezone(zone).date())
        out[key][0] += 1
        out[key][1] += a.duration or 0
        if a.agent_external_id:
            out[key][2].add(a.agent_external_id)
    return {k: (n, s, len(agents)) for k, (n, s, agents) in out.items()}


def stored_usage(accounts) -> dict:
    return {
        (u.account_id, u.day): (u.activities, u.seconds, u.agents)
        for u in UsageDay.objects.filter(account__in=accounts)
        if (u.activities, u.seconds, u.agents) != (0, 0, 0)
    }


def index_rows_of(accounts) -> dict:
    return {
        "activities": set(
            Activity.objects.filter(account__in=accounts).values_list(
                "account_id",
                "kind",
                "external_id",
                "status",
                "started_at",
                "ended_at",
                "duration",
                "agent_id",
                "agent_external_id",
                "agent_name",
                "visitor",
                "url",
                "title",
                "link",
                "search",
                "counted_day",
                "counted_seconds",
                "removed_at",
            )
        ),
        "tags": set(
            ActivityTag.objects.filter(activity__account__in=accounts).values_list(
                "activity__external_id", "tag"
            )
        ),
        "agents": set(
            VendorAgent.objects.filter(account__in=accounts).values_list(
                "account_id",
                "external_id",
                "identity_id",
                "linked_by_hand",
                "name",
                "email",
                "removed_at",
            )
        ),
        "usage": stored_usage(accounts),
        "usage_agents": set(
            UsageDayAgent.objects.filter(account__in=accounts).values_list(
                "account_id", "day", "agent_key", "activities"
            )
        ),
    }


def random_history(accounts, seed: int, steps: int = 60):
    """Random inserts, updates (day, duration, agent, tags), removals and returns."""
    rng = random.Random(seed)
    known: dict = {a.pk: set() for a in accounts}
    for _ in range(steps):
        account = rng.choice(accounts)
        action = rng.random()
        if action < 0.15 and known[account.pk]:
            keep = {i for i in known[account.pk] if rng.random() < 0.8}
            mark_removed(CobrowseSession, account, {f"s{i}" for i in keep})
            continue
        if action < 0.25:
            reconcile(
                SurflyAgent,
                account,
                [
                    surfly_agent(str(i), f"agent{i}@x.test")
                    for i in range(6)
                    if rng.random() < 0.7
                ],
            )
            continue
        rows = []
        for _ in range(rng.randint(1, 25)):
            i = rng.randint(0, 40)
            known[account.pk].add(i)
            duration = rng.choice([None, 0, 30, 600, 3600, rng.randint(1, 9999)])
            rows.append(
                session(
                    i,
                    start=T0 + timedelta(hours=rng.randint(-60, 60)),
                    duration=duration,
                    agent=rng.choice(["", "1", "2", "3", "4", "5"]),
                    tags=rng.sample(["a", "B", "c", "D"], rng.randint(0, 3)),
                )
            )
        upsert(CobrowseSession, account, rows)
        if rng.random() < 0.1:  # a webhook-style single-row change
            row = CobrowseSession.objects.filter(account=account).order_by("?").first()
            row.duration = rng.randint(1, 500)
            row.save()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_a_recount_after_random_changes(reseller, seed):
    reseller.time_zone = "Europe/Amsterdam"
    reseller.save()
    accounts = [make_account(reseller, "A"), make_account(reseller, "B")]
    random_history(accounts, seed)
    assert stored_usage(accounts) == recount(accounts)
    # UsageDayAgent holds exactly the (day, agent) pairs with activities.
    pairs = Counter(
        (a.account_id, a.counted_day, a.agent_external_id)
        for a in Activity.objects.filter(
            account__in=accounts, counted_day__isnull=False
        ).exclude(agent_external_id="")
    )
    stored = {
        (u.account_id, u.day, u.agent_key): u.activities
        for u in UsageDayAgent.objects.filter(account__in=accounts)
    }
    assert stored == dict(pairs)


@pytest.mark.parametrize("seed", [4, 5])
def test_rebuild_gives_the_same_rows_as_the_incremental_path(reseller, seed):
    accounts = [make_account(reseller, "A"), make_account(reseller, "B")]
    random_history(accounts, seed)
    va = VendorAgent.objects.filter(account=accounts[0]).first()
    if va is not None:  # a manager's decision survives the rebuild
        unlink_agent(va)
    before = index_rows_of(accounts)
    assert before["activities"] and before["usage"]

    # Drift the index: wrong rollups, a lost tag row, a stray activity.
    UsageDay.objects.filter(account__in=accounts).update(activities=999, agents=9)
    UsageDayAgent.objects.filter(account__in=accounts).delete()
    ActivityTag.objects.filter(activity__account=accounts[1]).delete()
    Activity.objects.filter(account=accounts[0]).update(agent_name="stale")
    Activity.objects.create(
        workspace=reseller,
        account=accounts[0],
        vendor="surfly",
        kind=ActivityKind.COBROWSE,
        external_id="orphan",
        status=ActivityStatus.ENDED,
    )
    call_command("rebuild_activity", "--all", "--chunk-size", "7", verbosity=0)
    after = index_rows_of(accounts)
    assert after == before


def test_rebuild_of_one_account_leaves_the_others_alone(reseller):
    one, two = make_account(reseller, "One"), make_account(reseller, "Two")
    upsert(CobrowseSession, one, [session(1)])
    upsert(CobrowseSession, two, [session(1)])
    UsageDay.objects.filter(account=two).update(activities=5)
    call_command("rebuild_activity", "--account", str(one.pk), verbosity=0)
    assert UsageDay.objects.get(account=two).activities == 5
    assert UsageDay.objects.get(account=one).activities == 1


def test_record_vendor_usage_merges_figures_and_keeps_counts(account):
    upsert(CobrowseSession, account, [session(1)])
    index.record_vendor_usage(account, T0.date(), {"visitors": 10})
    index.record_vendor_usage(account, T0.date(), {"chats": 3})
    day = UsageDay.objects.get()
    assert day.figures == {"visitors": 10, "chats": 3} and day.activities == 1
