"""The Celery app: configured from settings, and a real worker running
`core.run_stream` through the configured broker (Redis in CI)."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from kombu import pools
from kombu.exceptions import EncodeError

from cobrowse_portal import celery_app
from cobrowse_portal.core.choices import AccountStatus, RunStatus, Trigger
from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.signals import run_finished
from cobrowse_portal.core.tasks import run_stream
from cobrowse_portal.vendorkit.runs import queue_run

from .conftest import make_account


def wait_finished(run, seconds: float) -> None:
    """Poll a SyncRun until it has finished or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return
        time.sleep(0.1)


def test_app_is_configured_from_settings():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    assert conf.broker_url == settings.CELERY_BROKER_URL
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert conf.broker_transport_options["visibility_timeout"] > 0


def test_tasks_are_discovered_and_named():
    celery_app.loader.import_default_modules()
    assert {"core.run_stream", "core.process_webhook_events"} <= set(celery_app.tasks)


def test_task_arguments_must_be_json(reseller):
    account = make_account(reseller, "Desk")
    with pytest.raises(EncodeError, match="not JSON serializable"):
        run_stream.apply_async(args=(account, "agents"), connection=_no_connection())


def _no_connection():
    # Serialisation fails before anything is sent; a memory transport keeps it local.
    return celery_app.connection_for_write("memory://")


def worker_broker(tmp_path) -> str:
    """The configured kind of broker: Redis in CI as configured; the embedded SQLite
    broker in a file of its own, so a local `make run` worker never takes our task."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("sqla+sqlite"):
        return f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    return url


@pytest.fixture
def worker_app(monkeypatch, tmp_path):
    url = worker_broker(tmp_path)
    monkeypatch.setitem(celery_app.conf, "broker_url", url)
    # Celery reads CELERY_BROKER_URL from the environment before its settings
    # (a local .env sets it): the same URL there, or the worker takes the default.
    if "CELERY_BROKER_URL" in os.environ:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    # Fresh connection and producer pools for the broker chosen above: an earlier
    # test that published a task has cached both for the default broker.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    yield celery_app
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    # And fresh ones after it: the producer pools live in kombu's global registry,
    # and the worker's shutdown closes pools a later test would be handed
    # ("Acquire on closed pool" when it publishes, e.g. a kept write's retry).
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_stream_that_fails_cleanly(worker_app, settings):
    """An account whose API root is a closed local port: the worker's run fails with
    a readable error and the account is marked failing."""
    settings.VENDOR_MAX_RETRIES = 0
    from cobrowse_portal.core.models import Workspace

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workspace = Workspace.objects.create(name="Celery", slug="celery")
    account = make_account(
        workspace, "Unreachable", base_url=f"http://127.0.0.1:{port}/v2"
    )
    run = queue_run(account, "options", Trigger.MANUAL)

    with start_worker(
        worker_app,
        perform_ping_check=False,
        pool="solo",
        loglevel="WARNING",
        shutdown_timeout=10,
    ):
        run_stream.delay(account.pk, "options", Trigger.MANUAL, run.pk)
        wait_finished(run, 60)

    assert run.status == RunStatus.FAILED, run.status
    assert run.error.startswith("could not connect to surfly"), run.error
    # Library text (host, port, "Connection refused") stays in the log, not the run.
    assert "refused" not in run.error and "Failed to establish" not in run.error
    assert run.started_at and run.finished_at
    account = VendorAccount.objects.get(pk=account.pk)
    assert account.status == AccountStatus.FAILING


@pytest.mark.django_db(transaction=True)
def test_a_live_stream_runs_while_a_long_pull_holds_the_default_worker(
    worker_app, monkeypatch
):
    """The first run's problem: a long pull (a first backfill, a listing sleeping
    on the vendor's 429s) holds the default worker. The live stream, sent to the
    live queue, is run meanwhile by the live worker (Procfile: `worker` consumes
    both queues, `live` only the live one)."""
    from cobrowse_portal.core.models import SyncRun, Workspace
    from cobrowse_portal.core.tasks import enqueue_sync
    from cobrowse_portal.vendorkit import registry

    spec = registry.get("surfly")
    live = next(s for s in spec.streams if s.live)
    long = next(s for s in spec.streams if s.kind == "history")
    long_started, live_ran = threading.Event(), threading.Event()
    seen = {}

    def hold(ctx):  # the long pull: done only once the live stream has run
        long_started.set()
        seen["live ran meanwhile"] = live_ran.wait(timeout=30)

    def read_live(ctx):
        pass

    def finished(sender, run, **kwargs):
        if run.stream == live.name:
            live_ran.set()

    for stream, func in ((long, hold), (live, read_live)):
        module, name = stream.func.rsplit(".", 1)
        monkeypatch.setattr(f"{module}.{name}", func)
    run_finished.connect(finished, dispatch_uid="test-live-ran")
    account = make_account(Workspace.objects.create(name="Q", slug="q"), "Desk")

    with worker_app.connection_for_write() as conn:  # as broker_setup does
        for queue in worker_app.amqp.queues.values():
            queue.bind(conn.default_channel).declare()
    queues = worker_app.amqp.queues
    consumed = queues._consume_from  # each worker below selects its own queues
    options = {"perform_ping_check": False, "pool": "solo", "loglevel": "WARNING"}
    try:
        with start_worker(
            worker_app, queues=["celery", "live"], hostname="default@test", **options
        ):
            [long_run] = enqueue_sync(account, [long.name])
            assert long_started.wait(timeout=30)  # the default worker is held
            with start_worker(
                worker_app, queues=["live"], hostname="live@test", **options
            ):
                [live_run] = enqueue_sync(account, [live.name])
                wait_finished(live_run, 30)
    finally:
        queues._consume_from = consumed
        run_finished.disconnect(dispatch_uid="test-live-ran")

    assert live_run.status == RunStatus.SUCCEEDED, live_run.status
    assert seen == {"live ran meanwhile": True}
    long_run = SyncRun.objects.get(pk=long_run.pk)
    assert long_run.status == RunStatus.SUCCEEDED, long_run.status
    assert long_run.started_at < live_run.started_at
    assert live_run.finished_at < long_run.finished_at


def test_a_worker_loads_the_urlconf_when_it_starts_not_in_its_first_task():
    """The first indexed batch builds links: without the warm-up its task would
    import every urls and views module (about half a second) itself."""
    from celery.signals import worker_ready
    from django.urls import clear_url_caches, get_resolver

    from cobrowse_portal import celery as celery_app

    assert any(
        getattr(receiver(), "__name__", "") == "_warm_up"
        for _key, receiver in worker_ready.receivers
    )
    clear_url_caches()
    assert not get_resolver()._populated
    worker_ready.send(sender=None)
    assert get_resolver()._populated
    celery_app.warm_up()  # again: nothing to do
