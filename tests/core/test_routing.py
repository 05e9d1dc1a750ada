"""Two queues (cobrowse_portal/core/routing.py): the live queue for short work on a
minute's cadence, the default queue for long pulls. Every registered stream is
routed by its declared kind, wherever its task is sent from: "Sync now", beat, a
retry; the sweeper's re-queues keep the live queue."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry
from kombu import pools

from cobrowse_portal import celery_app
from cobrowse_portal.core import routing, tasks
from cobrowse_portal.core.choices import Trigger, WriteStatus
from cobrowse_portal.core.models import PendingWrite, WebhookEvent
from cobrowse_portal.core.schedules import task_name
from cobrowse_portal.provisioning.models import (
    ProvisioningRun,
    ProvisioningStep,
    RunKind,
    StepStatus,
)
from cobrowse_portal.vendorkit import registry

from .conftest import make_account
from .test_webhooks import event

LIVE, DEFAULT = "live", "celery"


def every_stream():
    return [
        (spec, stream) for spec in registry.all_vendors() for stream in spec.streams
    ]


def route(name, args=(), kwargs=None, **options) -> str:
    """The queue Celery's own router picks (the configured CELERY_TASK_ROUTES)."""
    return celery_app.amqp.router.route(options, name, args, kwargs or {})["queue"].name


@pytest.fixture
def published(monkeypatch):
    """Every task message the app publishes, as (task name, queue), instead of
    being sent: on a memory broker, so nothing reaches a real one."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setitem(celery_app.conf, "broker_url", "memory://")
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None

    def send_task_message(producer, name, message, **options):
        sent.append((name, destination(**options)))

    monkeypatch.setattr(celery_app.amqp, "send_task_message", send_task_message)
    yield sent
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def destination(queue=None, exchange=None, routing_key=None, **options) -> str:
    """The one queue a message lands on, as the broker routes it: a named queue
    (Celery sends it by the default exchange), or every declared queue bound to
    the exchange and routing key given (a retry's, from its delivery)."""
    if exchange and routing_key:
        bound = [
            q.name
            for q in celery_app.amqp.queues.values()
            if q.exchange.name == exchange and q.routing_key == routing_key
        ]
        assert len(bound) == 1, (exchange, routing_key, bound)
        return bound[0]
    return queue if isinstance(queue, str) else queue.name


# --- the rule ------------------------------------------------------------------------
def test_every_registered_stream_has_the_queue_of_its_kind():
    streams = every_stream()
    assert {spec.slug for spec, _ in streams} >= {"surfly", "upscope", "smartsupp"}
    for spec, stream in streams:
        expected = LIVE if stream.kind == "live" else DEFAULT
        assert routing.queue_for_stream(spec.slug, stream.name) == expected, (
            spec.slug,
            stream.name,
        )
    # What the problem was about: the live streams of Surfly, Upscope and SameSurf
    # apart from the first backfills and Smartsupp's long listings.
    live = {(spec.slug, s.name) for spec, s in streams if s.live}
    assert live == {
        ("surfly", "live"),
        ("upscope", "visitors"),
        ("samesurf", "running"),
    }
    for slow in (
        ("surfly", "history"),
        ("surfly", "history_full"),
        ("upscope", "sessions"),
        ("upscope", "usage"),
        ("smartsupp", "users"),
        ("smartsupp", "triggers"),
    ):
        assert routing.queue_for_stream(*slow) == DEFAULT, slow


def test_the_router_sends_each_stream_of_every_vendor_by_its_kind(reseller):
    for spec, stream in every_stream():
        account = make_account(reseller, f"{spec.slug}-{stream.name}", vendor=spec.slug)
        expected = LIVE if stream.live else DEFAULT
        # "Sync now" and retries pass arguments by position, beat by name.
        positional = (account.pk, stream.name, Trigger.MANUAL, None)
        assert route(tasks.run_stream.name, positional) == expected
        by_name = {"account_id": account.pk, "stream": stream.name}
        assert route(tasks.run_stream.name, kwargs=by_name) == expected


def test_a_queue_given_by_the_caller_wins(reseller):
    account = make_account(reseller, "Desk")
    assert route(tasks.run_stream.name, (account.pk, "history"), queue=LIVE) == LIVE


def test_a_gone_account_or_unknown_stream_goes_to_the_default_queue(reseller):
    account = make_account(reseller, "Desk")
    assert route(tasks.run_stream.name, (987654, "live")) == DEFAULT
    assert route(tasks.run_stream.name, (account.pk, "no-such-stream")) == DEFAULT


def test_every_task_of_the_project_has_a_queue():
    celery_app.loader.import_default_modules()
    ours = {name for name in celery_app.tasks if not name.startswith("celery.")}
    decided = routing.LIVE_TASKS | routing.DEFAULT_TASKS | {routing.STREAM_TASK}
    assert ours <= decided, ours - decided  # a new task must choose its queue
    assert not routing.LIVE_TASKS & routing.DEFAULT_TASKS
    for name in routing.LIVE_TASKS:
        assert route(name, (1,)) == LIVE
    for name in routing.DEFAULT_TASKS:
        assert route(name, (1,)) == DEFAULT
    assert {
        "core.process_webhook_events",
        "core.sweep",
        "core.retry_pending_write",
        "provisioning.run_step",
    } <= routing.LIVE_TASKS


def test_every_queue_the_router_answers_is_declared():
    declared = set(celery_app.amqp.queues)
    assert declared == {LIVE, DEFAULT}
    # Each bound by a key of its own: a message for one never reaches the other.
    bindings = [
        (q.exchange.name, q.routing_key) for q in celery_app.amqp.queues.values()
    ]
    assert sorted(bindings) == [(DEFAULT, DEFAULT), (LIVE, LIVE)]
    assert celery_app.conf.task_default_queue == DEFAULT
    answers = {routing.stream_queue(s) for _, s in every_stream()}
    answers |= {routing.LIVE_QUEUE, routing.default_queue()}
    assert answers <= declared


def test_the_procfiles_run_a_worker_for_each_queue():
    from django.conf import settings

    for name in ("Procfile", "Procfile.dev"):
        lines = dict(
            line.split(": ", 1)
            for line in (settings.BASE_DIR / name).read_text().splitlines()
            if line.strip()
        )
        workers = {k: v for k, v in lines.items() if " worker " in v}
        consumed = {k: v.split("--queues ")[1].split()[0] for k, v in workers.items()}
        assert consumed == {"worker": "celery,live", "live": "live"}, name
        # Two workers on one host need names of their own.
        hostnames = {v.split("--hostname ")[1].split()[0] for v in workers.values()}
        assert len(hostnames) == 2, name


# --- where tasks are sent from -------------------------------------------------------
def test_sync_now_sends_the_live_stream_to_the_live_queue(
    reseller, published, django_capture_on_commit_callbacks
):
    account = make_account(reseller, "Desk")
    with django_capture_on_commit_callbacks(execute=True):
        runs = tasks.enqueue_sync(account)
    assert len(published) == len(runs) == len(account.spec.streams)
    queues = {
        stream.name: routing.stream_queue(stream) for stream in account.spec.streams
    }
    assert sorted(published) == sorted(
        (tasks.run_stream.name, queues[r.stream]) for r in runs
    )
    assert queues["live"] == LIVE and queues["history"] == DEFAULT


# Transactional: the beat scheduler closes old connections, as it does in beat.
@pytest.mark.django_db(transaction=True)
def test_beat_sends_each_schedule_to_its_streams_queue(reseller, published):
    account = make_account(reseller, "Desk")
    scheduler = DatabaseScheduler(app=celery_app, lazy=True)
    for stream in account.spec.streams:
        periodic = PeriodicTask.objects.get(name=task_name(account.pk, stream.name))
        assert json.loads(periodic.kwargs)["stream"] == stream.name
        scheduler.apply_async(ModelEntry(periodic, app=celery_app), advance=False)
    assert published == [
        (tasks.run_stream.name, LIVE if s.live else DEFAULT)
        for s in account.spec.streams
    ]


@pytest.mark.parametrize("delivered_to", [LIVE, None])
def test_a_retry_of_a_live_run_stays_on_the_live_queue(
    reseller, published, monkeypatch, delivered_to
):
    """A transient failure retries the stream: the new message goes where the
    first one came from (or, without that, where the router says)."""
    account = make_account(reseller, "Flaky")
    transient = SimpleNamespace(transient=True, retry_after=None)
    monkeypatch.setattr(tasks, "execute_stream", lambda *args, **kw: transient)
    delivery = {"exchange": delivered_to, "routing_key": delivered_to}
    tasks.run_stream.push_request(
        id="t-1",
        retries=0,
        called_directly=False,
        delivery_info=delivery if delivered_to else {},
    )
    try:
        with pytest.raises(Retry):
            tasks.run_stream.run(account.pk, "live", Trigger.SCHEDULED, None)
    finally:
        tasks.run_stream.pop_request()
    assert published == [(tasks.run_stream.name, LIVE)]


def test_the_sweepers_requeues_stay_on_the_live_queue(
    reseller, personas, published, settings, django_capture_on_commit_callbacks
):
    settings.SWEEP_GRACE_SECONDS = 60
    account = make_account(reseller, "Desk")
    long_ago = timezone.now() - timedelta(minutes=10)
    WebhookEvent.objects.create(
        account=account,
        external_id="1",
        sequence=1,
        event_type="session.started",
        payload=event(1, session="lost"),
    )
    WebhookEvent.objects.update(received_at=long_ago)  # its drain was lost
    PendingWrite.objects.create(
        account=account,
        action="vendors.surfly.services.noop",
        description="x",
        status=WriteStatus.PENDING,
        next_attempt_at=long_ago,
    )
    run = ProvisioningRun.objects.create(
        workspace=reseller,
        kind=RunKind.PROVISION,
        subject="Wonka",
        created_by=personas["admin"],
    )
    ProvisioningStep.objects.create(
        run=run, vendor="surfly", status=StepStatus.WAITING, queued_at=long_ago
    )
    with django_capture_on_commit_callbacks(execute=True):
        summary = tasks.sweep()
    assert "re-queued webhooks of 1 accounts and 1 kept writes" in summary
    assert sorted(published) == [
        ("core.process_webhook_events", LIVE),
        ("core.retry_pending_write", LIVE),
        ("provisioning.run_step", LIVE),
    ]
