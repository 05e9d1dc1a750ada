"""Upscope streams against the sandbox over HTTP (seeded once per session):
sessions backfilled once, then pulled by new ids and by `updated_after` (a
no-change re-sync in two requests), each page committed with its cursor,
visitors online (and offline again), usage into the control room, agents by
lookup."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from django.utils import timezone

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus, RunStatus
from cobrowse_portal.core.models import Activity, AgentIdentity, UsageDay, VendorAgent
from cobrowse_portal.vendorkit.runs import execute_stream, load_cursor
from tests.conftest import sandbox_account
from vendors.upscope import sync
from vendors.upscope.models import (
    UpscopeAgent,
    UpscopeSession,
    UpscopeUsage,
    UpscopeVisitor,
)
from vendors.upscope.sandbox.models import Account, CobrowsingSession, Visitor
from vendors.upscope.sandbox.seed import MAIN_KEY

from .conftest import SANDBOX

pytestmark = SANDBOX


@pytest.fixture(autouse=True)
def _page_by_page(monkeypatch):
    """Each page of 100 its own write and cursor here (the tests below are about
    pages); grouping pages into larger writes has its own test."""
    monkeypatch.setattr(sync, "GROUP_ROWS", 100)


def run(account, stream):
    result = execute_stream(account.pk, stream)
    assert result.status == RunStatus.SUCCEEDED, result.error
    return result


def vendor_sessions():
    return CobrowsingSession.objects.filter(account__api_key=MAIN_KEY)


def upscope(reseller, live_server):
    return sandbox_account(reseller, live_server.url, vendor="upscope")


def sent_queries(monkeypatch, path: str) -> list[str]:
    """The query strings of the requests the client sends to `path`."""
    seen: list[str] = []
    real = requests.adapters.HTTPAdapter.send

    def send(self, request, **kwargs):
        if path in request.url:
            seen.append(request.url.partition("?")[2])
        return real(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return seen


def test_a_backfill_writes_pages_in_groups(reseller, sandbox, live_server, monkeypatch):
    monkeypatch.setattr(sync, "GROUP_ROWS", 150)  # two pages of 100 a write
    account = upscope(reseller, live_server)
    vendor = vendor_sessions()
    assert vendor.count() > 200  # more than one group
    sizes = []
    real = sync.upsert

    def recording(model, account, rows, **kwargs):
        rows = list(rows)
        sizes.append(len(rows))
        return real(model, account, rows, **kwargs)

    monkeypatch.setattr(sync, "upsert", recording)
    first = run(account, "sessions")
    assert first.requests > first.pages  # fewer writes than pages fetched
    assert all(n == 200 for n in sizes[:-1]) and 0 < sizes[-1] <= 200, sizes
    assert len(sizes) == first.pages  # one write, one saved cursor, per group
    stored = UpscopeSession.objects.filter(account=account)
    assert stored.count() == vendor.count() == first.created


def test_backfill_stores_every_session_once_then_resyncs_in_two_requests(
    reseller, sandbox, live_server, monkeypatch
):
    account = upscope(reseller, live_server)
    vendor = vendor_sessions()
    first = run(account, "sessions")
    stored = UpscopeSession.objects.filter(account=account)
    assert stored.count() == vendor.count() == first.created
    assert first.pages >= 3  # pages of 100
    assert set(stored.values_list("external_id", flat=True)) == {
        f"s_{n}" for n in vendor.values_list("number", flat=True)
    }
    ongoing = stored.filter(is_ongoing=True)
    assert ongoing.count() == vendor.filter(ended_at__isnull=True).count() == 2
    # Every session is a co-browse activity: live while ongoing, else ended.
    acts = Activity.objects.filter(account=account, kind=ActivityKind.COBROWSE)
    assert acts.count() == vendor.count()
    assert acts.filter(status=ActivityStatus.LIVE).count() == 2
    sample = vendor.filter(ended_at__isnull=False).order_by("number")[7]
    row = stored.get(external_id=sample.public_id)
    assert (row.started_at, row.ended_at) == (sample.started_at, sample.ended_at)
    assert row.agent_id == sample.agents[0]["id"]
    assert row.agent_name == sample.agents[0]["name"]
    assert row.duration == int((sample.ended_at - sample.started_at).total_seconds())
    act = acts.get(external_id=row.external_id)
    assert act.agent_name == row.agent_name and act.duration == row.duration
    newest = max(vendor.values_list("updated_at", flat=True))
    cursor = load_cursor(account.pk, "sessions")
    assert cursor.get("after") is None and cursor["high_water"]
    high = datetime.fromisoformat(cursor["high_water"])
    assert abs(high - newest) < timedelta(milliseconds=1)

    assert cursor["last_id"] == f"s_{max(vendor.values_list('number', flat=True))}"

    queries = sent_queries(monkeypatch, "cobrowsing_sessions/list")
    again = run(account, "sessions")
    assert again.requests <= 2
    assert (again.created, again.updated) == (0, 0)
    # New sessions after the last id, then changes in the look-back window.
    assert len(queries) == 2, queries
    assert f"after_id={cursor['last_id']}" in queries[0], queries
    assert "updated_after=" not in queries[0], queries
    assert "updated_after=" in queries[1], queries
    assert stored.count() == vendor.count() == acts.count()


def test_changes_arrive_by_updated_after(reseller, sandbox, live_server):
    account = upscope(reseller, live_server)
    run(account, "sessions")
    # One running session ends at Upscope, and a new one starts.
    running = vendor_sessions().filter(ended_at__isnull=True).order_by("number")[0]
    now = timezone.now()
    CobrowsingSession.objects.filter(pk=running.pk).update(ended_at=now, updated_at=now)
    vendor_account = Account.objects.get(api_key=MAIN_KEY)
    template = vendor_sessions().order_by("-number")[0]
    number = vendor_account.next_session
    CobrowsingSession.objects.create(
        account=vendor_account,
        number=number,
        visitor_short_id="v0001",
        started_at=now,
        ends_at=now + timedelta(hours=1),
        updated_at=now,
        agents=template.agents,
        agent_ids=template.agent_ids,
    )
    Account.objects.filter(pk=vendor_account.pk).update(next_session=number + 1)
    later = run(account, "sessions")
    # The new one by id, the ended one by its change.
    assert (later.created, later.updated, later.requests) == (1, 1, 2)
    ended = UpscopeSession.objects.get(account=account, external_id=running.public_id)
    assert not ended.is_ongoing and ended.ended_at is not None
    act = Activity.objects.get(account=account, external_id=running.public_id)
    assert act.status == ActivityStatus.ENDED
    new = UpscopeSession.objects.get(account=account, external_id=f"s_{number}")
    assert new.is_ongoing


def test_a_new_session_is_found_by_id_whatever_its_updated_at(
    reseller, sandbox, live_server
):
    """A session that appears at Upscope with a last change older than the
    look-back window (a late write, a skewed clock) is still pulled: new sessions
    come by id, not only by `updated_after`."""
    account = upscope(reseller, live_server)
    run(account, "sessions")
    vendor_account = Account.objects.get(api_key=MAIN_KEY)
    template = vendor_sessions().order_by("-number")[0]
    number = vendor_account.next_session
    long_ago = timezone.now() - timedelta(days=3)
    CobrowsingSession.objects.create(
        account=vendor_account,
        number=number,
        visitor_short_id="v0001",
        started_at=long_ago,
        ends_at=long_ago + timedelta(minutes=20),
        ended_at=long_ago + timedelta(minutes=20),
        updated_at=long_ago + timedelta(minutes=20),
        agents=template.agents,
        agent_ids=template.agent_ids,
    )
    Account.objects.filter(pk=vendor_account.pk).update(next_session=number + 1)
    later = run(account, "sessions")
    assert later.created == 1
    found = UpscopeSession.objects.get(account=account, external_id=f"s_{number}")
    assert not found.is_ongoing
    assert Activity.objects.filter(account=account, external_id=f"s_{number}").exists()


def test_a_failed_run_resumes_after_the_last_stored_page(
    reseller, sandbox, live_server, monkeypatch
):
    """Each page commits with its cursor: after a failure on page 3 the next
    run asks for the page after page 2 and stores the rest."""
    account = upscope(reseller, live_server)
    queries = sent_queries(monkeypatch, "cobrowsing_sessions/list")

    real = sync.upsert
    calls = []

    def failing(model, account, rows, **kw):
        calls.append(len(rows))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(model, account, rows, **kw)

    monkeypatch.setattr(sync, "upsert", failing)
    failed = execute_stream(account.pk, "sessions")
    assert failed.status == RunStatus.FAILED
    assert UpscopeSession.objects.filter(account=account).count() == 200
    assert load_cursor(account.pk, "sessions")["after"] == "s_200"
    monkeypatch.setattr(sync, "upsert", real)
    queries.clear()
    resumed = run(account, "sessions")
    assert "after_id=s_200" in queries[0]
    assert resumed.created == vendor_sessions().count() - 200
    assert (
        UpscopeSession.objects.filter(account=account).count()
        == vendor_sessions().count()
    )


def test_visitors_online_then_offline(reseller, sandbox, live_server):
    account = upscope(reseller, live_server)
    vendor_account = Account.objects.get(api_key=MAIN_KEY)
    # Only the two always-online visitors are online: the answer is not full.
    Visitor.objects.filter(account=vendor_account).exclude(
        short_id__in=["v0001", "v0002"]
    ).update(online_minutes=0)
    # A visitor the portal saw online earlier.
    UpscopeVisitor.objects.create(account=account, external_id="v0003", is_online=True)
    first = run(account, "visitors")
    assert first.requests == 1
    online = UpscopeVisitor.objects.filter(account=account, is_online=True)
    assert set(online.values_list("external_id", flat=True)) == {"v0001", "v0002"}
    ana = online.get(external_id="v0001")
    assert ana.label == "Ana Lima" and ana.tags == ["#VIP", "#CHECKOUT"]
    assert ana.lookup_code == "1234" and "sessions" not in ana.raw
    earlier = UpscopeVisitor.objects.get(account=account, external_id="v0003")
    assert not earlier.is_online

    # v0002's session ends and v0002 leaves: the next minute's run says so.
    Visitor.objects.filter(account=vendor_account, short_id="v0002").update(
        online_minutes=0
    )
    now = timezone.now()
    CobrowsingSession.objects.filter(
        account=vendor_account, visitor_short_id="v0002", ended_at__isnull=True
    ).update(ended_at=now, updated_at=now)
    run(account, "visitors")
    assert set(online.values_list("external_id", flat=True)) == {"v0001"}


def test_a_full_online_answer_checks_the_others_one_by_one(
    reseller, sandbox, live_server
):
    account = upscope(reseller, live_server)
    vendor_account = Account.objects.get(api_key=MAIN_KEY)
    everyone = Visitor.objects.filter(account=vendor_account)
    everyone.update(online_minutes=0)
    # Twelve always online: Upscope answers ten.
    always = list(everyone.order_by("pk").values_list("pk", flat=True)[:12])
    Visitor.objects.filter(pk__in=always).update(cycle_minutes=60, online_minutes=60)
    run(account, "visitors")
    online = UpscopeVisitor.objects.filter(account=account, is_online=True)
    assert online.count() == 10
    # Stored as online but not in a full answer: asked for by id (offline now,
    # or gone at Upscope).
    offline = everyone.exclude(pk__in=always).order_by("pk").first()
    UpscopeVisitor.objects.create(
        account=account, external_id=offline.short_id, is_online=True
    )
    UpscopeVisitor.objects.create(account=account, external_id="gone01", is_online=True)
    second = run(account, "visitors")
    assert second.requests == 1 + 2
    assert online.count() == 10
    back = UpscopeVisitor.objects.get(account=account, external_id=offline.short_id)
    assert not back.is_online and back.added_at is not None  # stored from Upscope
    gone = UpscopeVisitor.objects.get(account=account, external_id="gone01")
    assert not gone.is_online and gone.removed_at is not None


def test_the_visitors_checked_by_id_take_turns(reseller, sandbox, live_server):
    """More stored-online visitors missing from a full answer than one run asks
    for: the least recently refreshed go first, so every one gets its turn."""

    account = upscope(reseller, live_server)
    vendor_account = Account.objects.get(api_key=MAIN_KEY)
    everyone = Visitor.objects.filter(account=vendor_account)
    everyone.update(online_minutes=0)
    always = list(everyone.order_by("pk").values_list("pk", flat=True)[:40])
    Visitor.objects.filter(pk__in=always).update(cycle_minutes=60, online_minutes=60)
    run(account, "visitors")
    answered = set(
        UpscopeVisitor.objects.filter(account=account).values_list(
            "external_id", flat=True
        )
    )
    assert len(answered) == 10
    unanswered = list(
        everyone.filter(pk__in=always)
        .exclude(short_id__in=answered)
        .values_list("short_id", flat=True)
    )
    assert len(unanswered) == 30 > sync.STALE_CHECKS
    UpscopeVisitor.objects.bulk_create(
        [
            UpscopeVisitor(account=account, external_id=short_id, is_online=True)
            for short_id in unanswered
        ]
    )
    run(account, "visitors")
    run(account, "visitors")
    fetched = UpscopeVisitor.objects.filter(
        account=account, external_id__in=unanswered, added_at__isnull=False
    )
    assert fetched.count() == len(unanswered)


def test_sessions_carry_their_visitors_name_and_tags(reseller, sandbox, live_server):
    account = upscope(reseller, live_server)
    run(account, "sessions")
    mine = UpscopeSession.objects.filter(account=account, visitor_short_id="v0001")
    assert mine.exists() and set(mine.values_list("visitor_label", flat=True)) == {""}
    act = Activity.objects.get(account=account, external_id=mine[0].external_id)
    assert act.visitor == "Visitor v0001"
    # The visitors stream names the visitor: its stored sessions follow.
    run(account, "visitors")
    assert set(mine.values_list("visitor_label", flat=True)) == {"Ana Lima"}
    act.refresh_from_db()
    assert act.visitor == "Ana Lima" and set(act.tags) == {"VIP", "CHECKOUT"}
    # ...and a pull copies them onto new sessions from the stored visitor.
    UpscopeSession.objects.filter(account=account, visitor_short_id="v0001").delete()
    run(account, "sessions")
    assert set(mine.values_list("visitor_label", flat=True)) == {"Ana Lima"}
    assert mine[0].tags == ["#VIP", "#CHECKOUT"]


def test_usage_snapshots_feed_the_control_room(reseller, sandbox, live_server):
    account = upscope(reseller, live_server)
    first = run(account, "usage")
    again = run(account, "usage")
    assert (first.created, again.created) == (1, 0)  # one snapshot an hour
    snap = UpscopeUsage.objects.get(account=account)
    running = vendor_sessions().filter(ended_at__isnull=True).count()
    assert snap.sessions_now == running and snap.visitors_online_now is not None
    day = UsageDay.objects.get(account=account)
    assert day.vendor == "upscope" and day.workspace_id == reseller.pk
    assert day.figures["sessions"] == snap.sessions_today
    assert day.figures["session_seconds"] == snap.session_seconds_today
    assert day.figures["visitors_online"] == snap.visitors_online_now


def test_agents_are_looked_up_by_directory_email_and_external_id(
    reseller, sandbox, live_server
):
    account = upscope(reseller, live_server)
    run(account, "sessions")  # sessions name the external agents
    AgentIdentity.objects.create(workspace=reseller, email="Alice@Acme.test ")
    AgentIdentity.objects.create(workspace=reseller, email="nobody@acme.test")
    result = run(account, "agents")
    agents = UpscopeAgent.objects.filter(account=account)
    alice = agents.get(email="alice@acme.test")
    assert alice.name == "Alice Agent" and alice.looked_up_by == "email"
    assert alice.external_id.startswith("u_") and alice.last_session_at
    externals = set(
        agents.filter(looked_up_by="external_id").values_list(
            "agent_identifier", flat=True
        )
    )
    assert externals == {"ext-erin", "ext-frank"}
    # 2 e-mails (one unknown) + 2 external ids.
    assert result.requests == 4 and result.created == 3
    # The directory: Alice matched to her person by e-mail.
    entry = VendorAgent.objects.get(account=account, external_id=alice.external_id)
    assert entry.identity.email == "alice@acme.test"
    # Sessions of Alice's show her name in the index.
    act = Activity.objects.filter(account=account, agent_external_id=alice.external_id)
    assert act.exists() and act[0].agent_name == "Alice Agent"
    assert run(account, "agents").created == 0


def test_a_running_sessions_growing_length_is_not_a_change():
    """Upscope answers a running session's length as of the read: two reads a
    minute apart are the same record (same fingerprint); its end is a change."""
    from cobrowse_portal.vendorkit.bulk import fingerprint
    from vendors.upscope.schemas import Session
    from vendors.upscope.sync import session_row

    running = {
        "id": "s_9",
        "visitor_id": "v0001",
        "started_at": "2026-12-01T10:00:00.000Z",
        "ended_at": None,
        "updated_at": "2026-12-01T10:00:00.000Z",
        "is_ongoing": True,
        "length_seconds": 60,
        "formatted_length": "1:00",
        "agents": [{"id": "u_1", "name": "Alice Agent"}],
    }
    later = {**running, "length_seconds": 120, "formatted_length": "2:00"}
    ended = {
        **later,
        "ended_at": "2026-12-01T10:02:00.000Z",
        "updated_at": "2026-12-01T10:02:00.000Z",
        "is_ongoing": False,
    }
    rows = [session_row(Session.parse(p), {}) for p in (running, later, ended)]
    prints = [fingerprint(r["raw"]) for r in rows]
    assert prints[0] == prints[1] != prints[2]
    assert rows[2]["duration"] == 120 and rows[2]["raw"]["length_seconds"] == 120
