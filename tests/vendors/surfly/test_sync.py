"""Surfly streams against a faked Surfly (`responses`): idempotent, resumable, and
full listings mark vanished rows removed."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import responses
from django.test import override_settings

from cobrowse_portal.core.choices import AccountStatus, RunStatus
from cobrowse_portal.core.models import SyncCursor
from cobrowse_portal.vendorkit.runs import execute_stream
from vendors.surfly.models import (
    CobrowseSession,
    SurflyAgent,
    SurflyClient,
    SurflyWebhook,
)

from .fake_api import BASE, KEY


def agent(i: int, available=True) -> dict:
    return {
        "agent_id": i,
        "agent_name": f"Agent {i}",
        "agent_email": f"a{i}@example.com",
        "last_login": "2026-11-01T10:00:00Z",
        "role": "agent",
        "available": available,
    }


def record(i: int, *, end=True, day=1) -> dict:
    return {
        "id": f"raw{i}",
        "session_id": f"sess{i}",
        "formatted_id": f"100-000-{i:03d}",
        "agent_id": "7",
        "follower_link": f"https://surfly.test/{i}",
        "start_time": f"2026-10-{day:02d}T10:{i % 60:02d}:00Z",
        "end_time": f"2026-10-{day:02d}T11:00:00Z" if end else None,
        "duration": 120 + i if end else None,
        "pin": "1234",
        "start_url": "https://shop.example.com",
        "meta": json.dumps({"customer": f"c{i}"}),
        "tags": ["vip"],
        "options": {"videochat": True},
    }


def on(mocked, path: str, params: dict | None = None, **kwargs):
    """Register GET `path` matching exactly these query parameters (plus the key)."""
    matcher = responses.matchers.query_param_matcher({"api_key": KEY, **(params or {})})
    return mocked.get(f"{BASE}/{path}", match=[matcher], **kwargs)


def query(call) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def run(account, stream):
    return execute_stream(account.pk, stream)


def test_agents_reconcile_is_idempotent_and_marks_removed(account, mocked):
    agents = [agent(1), agent(2, available=False), agent(3)]
    all_agents = on(mocked, "agents/", json=agents)
    on(mocked, "agents/", {"free": "true"}, json=[agent(1)])
    first = run(account, "agents")
    assert first.status == RunStatus.SUCCEEDED, first.error
    assert (first.created, first.updated, first.removed) == (3, 0, 0)
    assert SurflyAgent.objects.get(account=account, external_id="1").is_free
    assert not SurflyAgent.objects.get(account=account, external_id="2").is_free
    # The key travels as the api_key query parameter on every call.
    assert all(query(c)["api_key"] == KEY for c in mocked.calls)

    second = run(account, "agents")
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)

    mocked.remove(all_agents)  # drops every GET /agents/ registration
    on(mocked, "agents/", json=agents[:2])
    on(mocked, "agents/", {"free": "true"}, json=[agent(1)])
    third = run(account, "agents")
    assert third.removed == 1
    gone = SurflyAgent.objects.get(account=account, external_id="3")
    assert gone.removed_at is not None
    assert SurflyAgent.objects.filter(account=account).count() == 3


def test_history_backfill_follows_next_then_goes_incremental(account, mocked):
    page2 = f"{BASE}/history/?api_key={KEY}&page=2"
    mocked.get(
        f"{BASE}/history/",
        match=[responses.matchers.query_param_matcher({"api_key": KEY})],
        json={"next": page2, "previous": None, "results": [record(3), record(2)]},
    )
    mocked.get(
        f"{BASE}/history/",
        match=[responses.matchers.query_param_matcher({"api_key": KEY, "page": "2"})],
        json={"next": None, "previous": BASE, "results": [record(1)]},
    )
    backfill = run(account, "history")
    assert backfill.status == RunStatus.SUCCEEDED, backfill.error
    assert (backfill.created, backfill.pages) == (3, 2)
    session = CobrowseSession.objects.get(account=account, external_id="sess2")
    assert session.api_id == "raw2" and session.meta == {"customer": "c2"}
    assert session.duration == 122 and not session.is_active
    cursor = SyncCursor.objects.get(account=account, stream="history").value
    assert cursor == {"high_water": "2026-10-01T10:03:00+00:00"}

    # Next run asks only for what is new, minus the look-back window.
    on(
        mocked,
        "history/",
        {"min_date": "2026-10-01T09:53:00+00:00"},
        json={"next": None, "previous": None, "results": [record(3), record(4)]},
    )
    with override_settings(SYNC_LOOKBACK_SECONDS=600):
        again = run(account, "history")
    assert (again.created, again.unchanged, again.requests) == (1, 1, 1)
    assert query(mocked.calls[-1])["min_date"] == "2026-10-01T09:53:00+00:00"
    assert CobrowseSession.objects.filter(account=account).count() == 4


@override_settings(VENDOR_MAX_RETRIES=0)
def test_failed_history_run_resumes_from_saved_page(account, mocked):
    page2 = f"{BASE}/history/?api_key={KEY}&page=2"
    first_page = mocked.get(
        f"{BASE}/history/",
        match=[responses.matchers.query_param_matcher({"api_key": KEY})],
        json={"next": page2, "previous": None, "results": [record(2)]},
    )
    broken = mocked.get(
        f"{BASE}/history/",
        match=[responses.matchers.query_param_matcher({"api_key": KEY, "page": "2"})],
        status=502,
        body="bad gateway",
    )
    failed = run(account, "history")
    assert failed.status == RunStatus.FAILED
    assert "502" in failed.error and KEY not in failed.error
    cursor = SyncCursor.objects.get(account=account, stream="history").value
    # The saved link never carries the key.
    assert cursor["next"] == f"{BASE}/history/?page=2"

    mocked.remove(broken)
    mocked.get(
        f"{BASE}/history/",
        match=[responses.matchers.query_param_matcher({"page": "2", "api_key": KEY})],
        json={"next": None, "previous": None, "results": [record(1)]},
    )
    resumed = run(account, "history")
    assert resumed.status == RunStatus.SUCCEEDED, resumed.error
    assert first_page.call_count == 1  # page 1 was not fetched again
    assert CobrowseSession.objects.filter(account=account).count() == 2


def test_full_rescan_updates_only_changed_records(account, mocked):
    mocked.get(
        f"{BASE}/history/",
        json={"next": None, "previous": None, "results": [record(1), record(2)]},
    )
    assert run(account, "history_full").created == 2
    changed = record(2)
    changed["tags"] = ["vip", "escalated"]
    mocked.replace(
        responses.GET,
        f"{BASE}/history/",
        json={"next": None, "previous": None, "results": [record(1), changed]},
    )
    rescan = run(account, "history_full")
    assert (rescan.created, rescan.updated, rescan.unchanged) == (0, 1, 1)
    tags = CobrowseSession.objects.get(account=account, external_id="sess2").tags
    assert tags == ["vip", "escalated"]


def test_live_sessions_end_sessions_surfly_no_longer_lists(account, mocked):
    live = on(
        mocked,
        "sessions/",
        {"active_session": "true"},
        json=[record(1, end=False), record(2, end=False)],
    )
    assert run(account, "live").created == 2
    mocked.remove(live)
    on(mocked, "sessions/", {"active_session": "true"}, json=[record(1, end=False)])
    on(mocked, "sessions/raw2/", json=record(2, end=True))
    second = run(account, "live")
    assert second.status == RunStatus.SUCCEEDED, second.error
    ended = CobrowseSession.objects.get(account=account, external_id="sess2")
    assert not ended.is_active and ended.duration == 122
    assert CobrowseSession.objects.filter(account=account, is_active=True).count() == 1


def test_clients_never_store_rest_keys_and_non_resellers_skip(account, mocked):
    mocked.get(
        f"{BASE}/clients/all/",
        json=[
            {
                "company_name": "Globex",
                "company_plan_name": "pro",
                "client_key": "ck1",
                "agent_count": 2,
                "widget_key": "wk1",
                "rest_key": "client-secret-rest-key-99",
                "domains": "globex.com, *.globex.com",
            }
        ],
    )
    assert run(account, "clients").created == 1
    client = SurflyClient.objects.get(account=account)
    assert client.domains == ["globex.com", "*.globex.com"]
    assert "client-secret-rest-key-99" not in str(client.raw)

    mocked.replace(
        responses.GET,
        f"{BASE}/clients/all/",
        status=403,
        json={"detail": "Only resellers can manage clients."},
    )
    skipped = run(account, "clients")
    assert skipped.status == RunStatus.SUCCEEDED
    account.refresh_from_db()
    assert account.status == AccountStatus.OK


def test_webhook_switched_off_by_surfly_is_flagged(account, mocked):
    mocked.get(
        f"{BASE}/webhooks/",
        json={
            "count": 2,
            "next": None,
            "previous": None,
            "results": [
                {
                    "id": 1,
                    "url": "https://a.example/h",
                    "category": "session.started",
                    "enabled": True,
                    "ssl_verification": True,
                    "company_id": 5,
                },
                {
                    "id": 2,
                    "url": "https://a.example/h",
                    "category": "session.ended",
                    "enabled": False,
                    "ssl_verification": True,
                    "company_id": 5,
                },
            ],
        },
    )
    assert run(account, "webhooks").created == 2
    off = SurflyWebhook.objects.get(account=account, external_id="2")
    assert off.switched_off_by_surfly
    assert not SurflyWebhook.objects.get(external_id="1").switched_off_by_surfly


def test_rejected_key_marks_account_and_pauses_syncs(account, mocked):
    mocked.get(
        f"{BASE}/company/options/", status=401, json={"detail": "Invalid API key."}
    )
    failed = run(account, "options")
    assert failed.status == RunStatus.FAILED
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_ATTENTION
    assert "Invalid API key" in account.status_message
    # No further vendor call while the key is unchanged (the mock would fail the
    # test with an unexpected request otherwise).
    assert run(account, "options") is None
    account.set_credentials({"api_key": "a-new-key-7890"})
    account.save()
    assert account.status == AccountStatus.NEW
