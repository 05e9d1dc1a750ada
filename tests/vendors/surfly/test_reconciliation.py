"""Webhook-versus-poll reconciliation against the real Surfly sandbox over HTTP:
the sandbox sends `session.ended` to the portal's receiver and its fault
profile drops every Nth delivery (`webhook_drop_every`); the next history pull
reports exactly the dropped ones as missed by webhook and the others matched.
An event for a session the pull never returns is counted "never matched" once
it is older than the grace period."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from cobrowse_portal.alerts.models import Alert, AlertSettings, AlertStatus
from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.core.models import SyncRun, WebhookEvent
from cobrowse_portal.vendorkit import reconciliation
from cobrowse_portal.vendorkit.runs import execute_stream
from cobrowse_portal.vendorkit.sandbox.faults import set_faults
from tests.conftest import sandbox_account
from vendors.surfly.sandbox.models import Webhook
from vendors.surfly.sandbox.seed import RESELLER_KEY

from .conftest import SANDBOX

pytestmark = SANDBOX

HOOK_FLAGS = {"enabled": True, "ssl_verification": True}


@pytest.fixture
def account(reseller, live_server, seeded):
    return sandbox_account(reseller, live_server.url)


@pytest.fixture
def drains(monkeypatch) -> list[int]:
    """Drains the intake queued (run by hand with `tasks.process_webhook_events`)."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", queued.append)
    return queued


def pull(account, stream="history") -> SyncRun:
    run = execute_stream(account.pk, stream)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def hook_up(api, account, live_server, categories=("session.ended",)) -> str:
    """The portal's receiver as the company's only webhook (the seed's others
    would take delivery numbers too)."""
    Webhook.objects.filter(company__api_key=RESELLER_KEY).delete()
    url = f"{live_server.url}/hooks/{account.pk}/{account.webhook_token}/"
    for category in categories:
        made = api.post(
            "webhooks/", json={**HOOK_FLAGS, "url": url, "category": category}
        )
        assert made.status_code == 201, made.content
    return url


def sessions(api, n: int) -> list[str]:
    """Start and end `n` sessions at the sandbox; their session ids."""
    ids = []
    for i in range(n):
        made = api.post(
            "sessions/", json={"url": f"https://shop.example/{i}", "agent_id": 2}
        ).json()
        assert api.post(f"sessions/{made['id']}/end/").status_code == 200
        ids.append(made["session_id"])
    return ids


def test_dropped_deliveries_are_missed_and_the_others_matched(
    account, api, live_server, drains
):
    backfill = pull(account)  # before any webhook: nothing can be missed
    assert backfill.created > 0
    assert (backfill.webhook_missed, backfill.webhook_matched) == (0, 0)
    hook_up(api, account, live_server)
    set_faults("surfly", RESELLER_KEY, webhook_drop_every=3)
    n, dropped = 7, 2  # deliveries 3 and 6 are lost
    ids = sessions(api, n)
    events = WebhookEvent.objects.filter(account=account)
    delivered = set(events.values_list("record_key", flat=True))
    assert len(delivered) == n - dropped
    assert delivered == {ids[i] for i in range(n) if (i + 1) % 3}
    tasks.process_webhook_events(account.pk)  # applied before the pull

    run = pull(account)
    assert run.created == dropped and run.updated >= n - dropped
    assert (run.webhook_missed, run.webhook_matched) == (dropped, n - dropped)
    assert run.webhook_unmatched == 0
    assert SyncRun.objects.get(pk=run.pk).webhook_miss_rate == pytest.approx(
        100 * dropped / n
    )
    assert not events.filter(matched_at__isnull=True).exists()

    # The same sessions again (the look-back window): nothing new, nothing missed.
    again = pull(account)
    assert (again.created, again.updated) == (0, 0)
    assert (again.webhook_missed, again.webhook_matched) == (0, 0)


def test_events_matched_before_they_are_applied(account, api, live_server, drains):
    """A delivered event counts as delivered whether or not the drain ran yet."""
    pull(account)
    hook_up(api, account, live_server)
    set_faults("surfly", RESELLER_KEY, webhook_drop_every=2)
    sessions(api, 4)
    run = pull(account)  # the events wait in the queue
    assert run.created == 4
    assert (run.webhook_missed, run.webhook_matched) == (2, 2)


def test_an_event_no_pull_returns_counts_after_the_grace(
    account, api, live_server, drains
):
    url = hook_up(api, account, live_server)
    sessions(api, 1)
    ghost = {
        "sequence_id": 10_000,
        "type": "session.ended",
        "data": {"session_id": "ghost-session", "end_time": None, "duration": 0},
    }
    assert requests.post(url, json=ghost, timeout=10).status_code == 202
    tasks.process_webhook_events(account.pk)
    first = pull(account)
    assert first.webhook_matched == 1 and first.webhook_unmatched == 0
    # Time passes beyond the grace period (the streams' interval plus the
    # look-back): the ghost's event has still not matched a pulled session.
    wait = reconciliation.grace(account.spec)
    WebhookEvent.objects.filter(record_key="ghost-session").update(
        received_at=timezone.now() - wait - timedelta(minutes=1)
    )
    later = pull(account)
    assert later.webhook_unmatched == 1
    # Outside the window it no longer counts.
    WebhookEvent.objects.filter(record_key="ghost-session").update(
        received_at=timezone.now() - timedelta(days=reconciliation.WINDOW_DAYS + 1)
    )
    assert pull(account).webhook_unmatched == 0


def test_streams_the_webhooks_do_not_cover_are_not_reconciled(
    account, api, live_server, drains
):
    hook_up(api, account, live_server)
    sessions(api, 1)
    run = pull(account, "agents")
    assert run.webhook_missed is None and run.webhook_matched is None
    assert WebhookEvent.objects.get(account=account).matched_at is None


def test_dropped_deliveries_open_the_alert_and_delivered_ones_resolve_it(
    reseller, account, api, live_server, drains
):
    """After every run the alert rules are evaluated (`run_finished`)."""
    AlertSettings.objects.create(
        workspace=reseller,
        webhook_miss_percent=25,
        webhook_miss_runs=1,
        webhook_miss_min_sample=4,
    )
    pull(account)
    hook_up(api, account, live_server)
    set_faults("surfly", RESELLER_KEY, webhook_drop_every=2)
    sessions(api, 4)  # 2 of 4 lost: 50 %
    tasks.process_webhook_events(account.pk)
    pull(account)
    [alert] = Alert.objects.filter(rule="webhook_misses", status=AlertStatus.OPEN)
    assert alert.account_id == account.pk and "2 of 4" in alert.message
    set_faults("surfly", RESELLER_KEY, webhook_drop_every=0)
    sessions(api, 4)  # all delivered
    tasks.process_webhook_events(account.pk)
    run = pull(account)
    assert (run.webhook_missed, run.webhook_matched) == (0, 4)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED


def test_a_batch_rolled_back_counts_nothing_and_matches_nothing(
    account, api, live_server, drains, monkeypatch
):
    from cobrowse_portal.vendorkit import activity

    pull(account)
    hook_up(api, account, live_server)
    set_faults("surfly", RESELLER_KEY, webhook_drop_every=2)
    sessions(api, 4)
    real = activity.index_rows

    def broken(*args, **kwargs):
        raise RuntimeError("index down")

    monkeypatch.setattr(activity, "index_rows", broken)
    failed = execute_stream(account.pk, "history")
    assert failed.status == RunStatus.FAILED
    assert (failed.webhook_missed, failed.webhook_matched) == (0, 0)
    events = WebhookEvent.objects.filter(account=account)
    assert events.filter(matched_at__isnull=True).count() == 2  # rolled back
    monkeypatch.setattr(activity, "index_rows", real)
    run = pull(account)
    assert (run.webhook_missed, run.webhook_matched) == (2, 2)
