"""Sessions the sandbox starts end by themselves and POST the session JSON to
the watch URL's `webhook_url` exactly once; visitors come online and go offline
by the clock, the same in every process; faults and the rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from vendors.upscope.sandbox import lifecycle, records
from vendors.upscope.sandbox.models import Account, CobrowsingSession, Visitor
from vendors.upscope.sandbox.seed import MAIN_KEY

from .conftest import SANDBOX, client_for

pytestmark = SANDBOX


def test_a_session_ends_by_itself_and_posts_once(api, receiver):
    url, received = receiver
    api.create_watch_url(
        "v0003",
        agent_id="agent-7",
        agent_name="Pat",
        metadata={"ticket": "T-9"},
        webhook_url=url,
    )
    s = CobrowsingSession.objects.get(visitor_short_id="v0003", ended_at__isnull=True)
    assert s.ends_at - s.started_at == timedelta(
        seconds=Account.objects.get(api_key=MAIN_KEY).session_seconds
    )
    api.usage()
    assert received == []  # still running
    due = timezone.now() - timedelta(seconds=5)
    CobrowsingSession.objects.filter(pk=s.pk).update(ends_at=due)
    api.usage()  # any call of the account ends what is due
    api.usage()
    assert len(received) == 1
    post = received[0]
    assert post["path"] == "/hooks/upscope/t0ken"
    assert post["content_type"] == "application/json"
    body = post["body"]
    assert body["id"] == s.public_id and body["visitor_id"] == "v0003"
    assert body["metadata"] == {"ticket": "T-9"}
    assert body["agents"][0]["agent_identifier"] == "agent-7"
    assert body["is_ongoing"] is False
    ended = datetime.fromisoformat(body["ended_at"].replace("Z", "+00:00"))
    assert abs((ended - due).total_seconds()) < 0.01  # when it was due
    # The pull sees the same session, ended.
    listed = [
        x
        for p in api.cobrowsing_sessions(after_id=f"s_{s.number - 1}")
        for x in p.items
        if x.id == s.public_id
    ]
    assert listed[0].ended_at == ended and not listed[0].ongoing
    assert not api.get_visitor("v0003").is_in_session


def test_a_stopped_session_posts_once(api, receiver):
    url, received = receiver
    api.create_watch_url("v0004", agent_id="1", agent_name="A", webhook_url=url)
    api.stop_session("v0004")
    api.stop_session("v0004")
    assert len(received) == 1 and received[0]["body"]["ended_at"]


def test_a_session_ends_once_however_many_sweep(api, receiver):
    url, received = receiver
    api.create_watch_url("v0004", agent_id="1", agent_name="A", webhook_url=url)
    s = CobrowsingSession.objects.get(visitor_short_id="v0004", ended_at__isnull=True)
    account = Account.objects.get(api_key=MAIN_KEY)
    assert lifecycle.end(account, s.pk, timezone.now())
    assert not lifecycle.end(account, s.pk, timezone.now())
    assert lifecycle.finish_due(account, timezone.now() + timedelta(days=2)) == 2
    assert len(received) == 1  # the seed's running sessions have no webhook


def _minute() -> int:
    return records.minute(timezone.now())


def test_visitors_come_online_and_go_offline_by_the_clock(api):
    # Cycle of 60 minutes, online for the first 10: put "now" 5 minutes into
    # the online stretch for one visitor, 5 minutes before it for another.
    m = _minute()
    Visitor.objects.filter(short_id="v0003").update(
        cycle_minutes=60, online_minutes=10, phase_minutes=(5 - m) % 60
    )
    Visitor.objects.filter(short_id="v0004").update(
        cycle_minutes=60, online_minutes=10, phase_minutes=(55 - m) % 60
    )
    v3, v4 = api.get_visitor("v0003"), api.get_visitor("v0004")
    assert v3.is_online and not v4.is_online
    assert "v0003" in {v.short_id for v in api.list_visitors("online #VIP")}
    # Offline since its online stretch ended 45 minutes ago (at a minute's start).
    expected = datetime.fromtimestamp((m - 45) * 60, tz=UTC)
    assert abs((v4.last_seen_at - expected).total_seconds()) <= 60
    with pytest.raises(errors.PermanentVendorError):
        api.delete_visitor("v0003")
    api.delete_visitor("v0004")


def test_presence_is_a_function_of_the_clock():
    v = Visitor(
        cycle_minutes=30,
        online_minutes=5,
        phase_minutes=0,
        added_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)  # minute divisible by 30
    assert records.minute(start) % 30 == 0
    states = [records.clock_online(v, start + timedelta(minutes=i)) for i in range(60)]
    assert states == ([True] * 5 + [False] * 25) * 2
    never = Visitor(cycle_minutes=30, online_minutes=0, added_at=start)
    assert not any(
        records.clock_online(never, start + timedelta(minutes=i)) for i in range(60)
    )


@override_settings(VENDOR_MAX_RETRIES=0)
def test_faults_are_injected_per_account(sandbox):
    api = client_for(sandbox)
    set_faults("upscope", MAIN_KEY, rate_malformed=1.0)
    try:
        with pytest.raises(errors.MalformedResponse):
            api.usage()
        set_faults("upscope", MAIN_KEY, rate_500=1.0)
        with pytest.raises(errors.TransientVendorError) as info:
            api.usage()
        assert info.value.status == 500
    finally:
        clear_faults("upscope", MAIN_KEY)
    assert api.usage().sessions_now is not None


@override_settings(
    VENDOR_MAX_RETRIES=0, VENDOR_READ_TIMEOUT=0.5, VENDOR_BACKOFF_MAX=0.2
)
def test_paging_through_20_percent_faults_gets_every_session_once(sandbox):
    api = client_for(sandbox)
    expected = list(
        CobrowsingSession.objects.filter(account__api_key=MAIN_KEY)
        .order_by("number")
        .values_list("number", flat=True)
    )
    set_faults(
        "upscope",
        MAIN_KEY,
        rate_429=0.05,
        rate_500=0.05,
        rate_timeout=0.05,
        rate_malformed=0.05,
        retry_after_seconds=1,
        timeout_seconds=1.0,
        seed=7,
    )
    got: list[int] = []
    cursor, failures = None, 0
    try:
        for _ in range(60):
            try:
                for page in api.cobrowsing_sessions(resume=cursor):
                    got += [int(s.id[2:]) for s in page.items]
                    cursor = page.cursor
                break
            except errors.TransientVendorError:
                failures += 1
        else:
            pytest.fail("never finished")
    finally:
        clear_faults("upscope", MAIN_KEY)
    assert got == expected
    assert failures >= 1  # the seed's fault sequence does fail some pages


def test_the_rate_limit_answers_429_with_retry_after(sandbox):
    # Per hour, so the four requests cannot straddle two windows.
    with override_settings(SANDBOX_RATE_LIMIT="3/h"):
        answers = [
            requests.get(
                f"{sandbox}/usage", headers={"X-Api-Key": MAIN_KEY}, timeout=10
            )
            for _ in range(4)
        ]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    last = answers[3]
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    assert last.json() == {"status": "error", "error": "rate_limited"}


def test_a_listed_session_answers_what_the_session_answers(sandbox, api):
    """The listing embeds its JSON columns as stored text (no decode and
    encode again): each listed session equals the session rendered from its
    model instance, which is what the session-end post sends."""
    api.create_watch_url(
        "v0004",
        agent_id="agent-7",
        agent_name="Pat",
        metadata={"ticket": "T-9", "n": 1.5, "ok": False, "é": "ü"},
    )
    answer = requests.get(
        f"{sandbox}/cobrowsing_sessions/list?ongoing_only=true",
        headers={"X-Api-Key": MAIN_KEY},
        timeout=10,
    ).json()
    listed = {s["id"]: s for s in answer["cobrowsing_sessions"]}
    account = Account.objects.get(api_key=MAIN_KEY)
    sessions = CobrowsingSession.objects.filter(account=account, ended_at=None)
    assert listed and len(listed) == sessions.count()
    now = timezone.now()
    for s in sessions:
        expected = records.session(s, account, now)
        got = listed[expected["id"]]
        for name in ("features_used", "agents", "metadata"):
            assert got[name] == expected[name], name
        assert got.keys() == expected.keys()
    mine = next(s for s in listed.values() if s["metadata"].get("ticket") == "T-9")
    assert mine["metadata"] == {"ticket": "T-9", "n": 1.5, "ok": False, "é": "ü"}
