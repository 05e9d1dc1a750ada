"""Which Celery queue a task goes to (`CELERY_TASK_ROUTES` names `route_task`).

Two queues, two workers (Procfile):

- `live` (`LIVE_QUEUE`): work on a short schedule whose every run is short — the
  vendors' live streams (`Stream.live`: one read of what is happening now), the
  webhook drain, kept writes, the sweeper (with the alerts it evaluates) and
  provisioning steps. Its worker never runs a long pull, so a first backfill (or a
  vendor's rate limit making a listing sleep on 429) never holds it.
- the default queue (`CELERY_TASK_DEFAULT_QUEUE`, "celery"): the long pulls —
  history backfills, full listings, usage, options, reports.

A stream's queue follows its declared kind in the vendor registry, never its
vendor's name. Routing happens wherever a task is sent: "Sync now" (web), beat
(the per-account PeriodicTasks carry no queue of their own), the sweeper's
re-queues and a run's automatic retry (which keeps the queue its message came
from). A queue given by the caller (or set on a PeriodicTask in the admin) wins.
"""

from __future__ import annotations

from django.conf import settings

LIVE_QUEUE = "live"

#: Tasks that always go to the live queue: short, on a minute's cadence or a
#: person waiting for them.
LIVE_TASKS = frozenset(
    {
        "core.process_webhook_events",
        "core.retry_pending_write",
        "core.sweep",
        "provisioning.run_step",
    }
)
#: Tasks that always go to the default queue (long or rare).
DEFAULT_TASKS = frozenset({"reports.run_report"})
#: Goes where its stream does (`stream_queue`).
STREAM_TASK = "core.run_stream"


def default_queue() -> str:
    return settings.CELERY_TASK_DEFAULT_QUEUE


def stream_queue(stream) -> str:
    """The queue of a vendor stream (a `vendorkit.registry.Stream`)."""
    return LIVE_QUEUE if stream.live else default_queue()


def queue_for_stream(vendor: str, stream: str) -> str:
    """The queue of `stream` of vendor `vendor` (a slug); an unknown vendor or
    stream (a leftover schedule) goes to the default queue, where the task
    reports what is wrong."""
    from cobrowse_portal.vendorkit import registry

    try:
        return stream_queue(registry.get(vendor).stream(stream))
    except KeyError:
        return default_queue()


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router: {"queue": ...} for the project's tasks, None for others
    (Celery then uses the default queue)."""
    if name in LIVE_TASKS:
        return {"queue": LIVE_QUEUE}
    if name in DEFAULT_TASKS:
        return {"queue": default_queue()}
    if name != STREAM_TASK or options.get("queue"):
        return None
    account_id, stream = _stream_arguments(args or (), kwargs or {})
    if not isinstance(account_id, int) or not isinstance(stream, str):
        return None  # not ids: the message is refused when it is serialised
    from .models import VendorAccount

    vendor = (
        VendorAccount.objects.filter(pk=account_id)
        .values_list("vendor", flat=True)
        .first()
    )
    if vendor is None:  # the account is gone: the task says so at once
        return {"queue": default_queue()}
    return {"queue": queue_for_stream(vendor, stream)}


def _stream_arguments(args, kwargs) -> tuple:
    """`core.run_stream(account_id, stream, trigger, run_id)`'s first two
    arguments, given by position ("Sync now", retries) or by name (beat)."""
    account_id = args[0] if len(args) > 0 else kwargs.get("account_id")
    stream = args[1] if len(args) > 1 else kwargs.get("stream")
    return account_id, stream
