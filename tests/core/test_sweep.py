"""Webhook processing is coalesced (one queued drain per account, however many
deliveries) and a sweeper re-queues what was lost and fails runs whose worker died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal import celery_app
from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import EventStatus, RunStatus, WriteStatus
from cobrowse_portal.core.models import PendingWrite, SyncClaim, SyncRun, WebhookEvent
from cobrowse_portal.vendorkit.runs import (
    DEAD_RUN_ERROR,
    acquire_claim,
    lower_flag,
    raise_flag,
)
from vendors.surfly.models import CobrowseSession

from .conftest import make_account, make_run
from .test_webhooks import event, hook_url, post


@pytest.fixture
def two(reseller, other_workspace):
    return make_account(reseller, "A"), make_account(other_workspace, "B")


@pytest.fixture
def queued(monkeypatch):
    """`process_webhook_events.delay` recorded instead of sent: the queue."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", sent.append)
    return sent


def drain_queue(sent: list[int]) -> list[str]:
    """Run queued tasks in order (as one worker would) until the queue is empty."""
    results = []
    while sent:
        results.append(tasks.process_webhook_events(sent.pop(0)))
    return results


def test_flag_is_raised_once_until_lowered_or_expired(two):
    a, b = two
    assert raise_flag(a.pk, "f", 60) is True
    assert raise_flag(a.pk, "f", 60) is False
    assert raise_flag(b.pk, "f", 60) is True  # per account
    lower_flag(a.pk, "f")
    assert raise_flag(a.pk, "f", 60) is True
    SyncClaim.objects.filter(account=a, stream="f").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert raise_flag(a.pk, "f", 60) is True  # a stale flag does not block


def test_a_burst_to_one_account_queues_one_task_and_never_delays_another(
    two, client, queued, django_capture_on_commit_callbacks
):
    a, b = two
    with django_capture_on_commit_callbacks(execute=True):
        for seq in range(1, 1001):
            response = post(client, hook_url(a), event(seq, session=f"a-{seq % 50}"))
            assert response.status_code == 202
        assert post(client, hook_url(b), event(1, session="b-1")).status_code == 202
    # O(accounts), not O(events): one task each.
    assert sorted(queued) == [a.pk, b.pk]
    b_position = queued.index(b.pk) + 1
    results = drain_queue(queued)
    assert b_position <= 2 and len(results) == 2
    assert "1000 events applied" in results
    assert CobrowseSession.objects.filter(account=b, external_id="b-1").exists()
    assert not WebhookEvent.objects.exclude(status=EventStatus.PROCESSED).exists()


def test_an_event_arriving_during_a_drain_is_drained_or_queues_exactly_one_task(
    two, client, queued, monkeypatch, django_capture_on_commit_callbacks
):
    a, _ = two
    from vendors.surfly.webhooks import SurflyWebhookHandler

    real = SurflyWebhookHandler.apply_batch
    arrived = []

    def apply_batch(self, account, events):
        failed = real(self, account, events)
        while len(arrived) < 3:  # three deliveries while the drain runs
            arrived.append(
                post(client, hook_url(a), event(100 + len(arrived))).status_code
            )
        return failed

    monkeypatch.setattr(SurflyWebhookHandler, "apply_batch", apply_batch)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, hook_url(a), event(1))
    assert queued == [a.pk]
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.process_webhook_events(queued.pop())
    assert arrived == [202, 202, 202]
    assert result == "4 events applied"  # picked up by the same drain
    assert len(queued) <= 1  # and at most one more task, which finds nothing
    assert drain_queue(queued) in ([], ["0 events applied"])
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_busy_task_returns_and_the_running_drain_requeues_at_its_end(
    two, client, queued, django_capture_on_commit_callbacks
):
    a, _ = two
    claim = acquire_claim(a.pk, "webhooks")  # a drain is running elsewhere
    with django_capture_on_commit_callbacks(execute=True):
        post(client, hook_url(a), event(1))
        post(client, hook_url(a), event(2))
    assert queued == [a.pk]
    assert "busy" in tasks.process_webhook_events(queued.pop())
    with django_capture_on_commit_callbacks(execute=True):
        post(client, hook_url(a), event(3))
    assert queued == []  # the busy task left the flag: still no second task
    claim.release()
    # What the running drain does when it ends: events left -> one more task.
    tasks.lower_flag(a.pk, tasks.WEBHOOKS_QUEUED)
    assert tasks.request_webhook_processing(a.pk, force=True)
    assert drain_queue(queued) == ["3 events applied"]


def test_no_busy_requeue_loop(two, monkeypatch):
    a, _ = two
    calls = []
    monkeypatch.setattr(
        tasks.process_webhook_events,
        "apply_async",
        lambda *args, **kw: calls.append((args, kw)),
    )
    claim = acquire_claim(a.pk, "webhooks")
    tasks.process_webhook_events(a.pk)
    claim.release()
    assert calls == []


def test_sweeper_requeues_events_whose_task_was_lost(two, monkeypatch, settings):
    a, b = two
    settings.SWEEP_GRACE_SECONDS = 60
    for account, seq in ((a, 1), (b, 1)):
        WebhookEvent.objects.create(
            account=account,
            external_id=str(seq),
            sequence=seq,
            event_type="session.started",
            payload=event(seq, session=f"lost-{account.pk}"),
        )
    # a's task was lost 5 minutes ago (its flag still up); b's arrived just now.
    WebhookEvent.objects.filter(account=a).update(
        received_at=timezone.now() - timedelta(minutes=5)
    )
    raise_flag(a.pk, tasks.WEBHOOKS_QUEUED, 600)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    assert tasks.sweep().startswith("re-queued webhooks of 1 accounts")
    assert WebhookEvent.objects.get(account=a).status == EventStatus.PROCESSED
    assert CobrowseSession.objects.filter(external_id=f"lost-{a.pk}").exists()
    assert WebhookEvent.objects.get(account=b).status == EventStatus.RECEIVED


def test_sweeper_requeues_overdue_kept_writes_by_id(
    two, monkeypatch, settings, django_capture_on_commit_callbacks
):
    a, _ = two
    settings.SWEEP_GRACE_SECONDS = 60
    now = timezone.now()

    def write(when, status=WriteStatus.PENDING):
        return PendingWrite.objects.create(
            account=a,
            action="vendors.surfly.services.noop",
            description="x",
            status=status,
            next_attempt_at=when,
        )

    lost = write(now - timedelta(minutes=10))
    write(now - timedelta(seconds=10))  # due just now: its task is on its way
    write(now + timedelta(minutes=5))
    write(now - timedelta(minutes=10), status=WriteStatus.SUCCEEDED)
    sent = []
    monkeypatch.setattr(tasks.retry_pending_write, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert "1 kept writes" in tasks.sweep()
    assert sent == [lost.pk]
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()  # a minute later it is not queued twice
    assert sent == [lost.pk]


def test_sweeper_fails_a_dead_workers_run_and_progress_stops_polling(
    portal, client, settings
):
    settings.SYNC_CLAIM_TTL_SECONDS = 900
    long_ago = timezone.now() - timedelta(seconds=1000)
    account = portal.account
    # Killed mid-run: left "running", its claim expired, no heartbeat for 1000 s.
    dead = make_run(
        account, "history", RunStatus.RUNNING, started_at=long_ago, finished_at=None
    )
    SyncRun.objects.filter(pk=dead.pk).update(heartbeat_at=long_ago)
    SyncClaim.objects.create(
        account=account, stream="history", token="t", expires_at=long_ago
    )
    alive = make_run(account, "agents", RunStatus.RUNNING, finished_at=None)
    SyncRun.objects.filter(pk=alive.pk).update(heartbeat_at=timezone.now())
    lost = make_run(account, "live", RunStatus.QUEUED, started_at=None)
    SyncRun.objects.filter(pk=lost.pk).update(queued_at=long_ago)

    client.force_login(portal.personas["manager"])
    progress = reverse("core:sync_progress", args=[account.pk])
    assert client.get(progress, {"ids": str(dead.pk)}).status_code == 200  # polls

    assert "failed 2 dead runs" in tasks.sweep()
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and dead.error == DEAD_RUN_ERROR
    assert dead.finished_at is not None
    assert SyncRun.objects.get(pk=lost.pk).status == RunStatus.FAILED
    assert SyncRun.objects.get(pk=alive.pk).status == RunStatus.RUNNING
    response = client.get(progress, {"ids": str(dead.pk)})
    assert response.status_code == 286  # htmx: stop polling
    assert "worker stopped" in response.content.decode()


def test_a_run_beats_while_it_pages(two):
    from cobrowse_portal.vendorkit.runs import RunContext

    a, _ = two
    run = make_run(a, "agents", RunStatus.RUNNING, finished_at=None)
    assert run.heartbeat_at is None

    class FakeClient:
        requests_made = 1

    RunContext(account=a, stream="agents", run=run, client=FakeClient()).page_done()
    run.refresh_from_db()
    assert run.heartbeat_at is not None


def test_the_sweeper_is_scheduled_every_minute(db):
    from django_celery_beat.models import PeriodicTask

    from cobrowse_portal.core.schedules import SWEEP_NAME, ensure_sweeper

    task = ensure_sweeper()  # created by migration core 0005; idempotent
    assert PeriodicTask.objects.filter(name=SWEEP_NAME).count() == 1
    assert task.task == "core.sweep" and task.interval.every == 60
    assert task.enabled
