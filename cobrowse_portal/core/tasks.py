"""Celery tasks of the portal core. Arguments are ids; results are short summaries."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from cobrowse_portal.vendorkit import webhooks
from cobrowse_portal.vendorkit.models import deferred_index
from cobrowse_portal.vendorkit.redaction import redact
from cobrowse_portal.vendorkit.runs import (
    acquire_claim,
    execute_stream,
    fail_dead_runs,
    lower_flag,
    raise_flag,
)
from cobrowse_portal.vendorkit.webhooks import Event

from .choices import EventStatus, Trigger
from .models import VendorAccount, WebhookEvent, Workspace
from .signals import sweeping

log = logging.getLogger("cobrowse.core.tasks")


#: A run that failed for a transient reason is tried again after these seconds
#: (each try is a new SyncRun; a history run resumes from its saved page).
STREAM_RETRY_DELAYS = (60, 300, 900)


@shared_task(name="core.run_stream", bind=True, max_retries=len(STREAM_RETRY_DELAYS))
def run_stream(
    self, account_id: int, stream: str, trigger: str = Trigger.SCHEDULED, run_id=None
) -> str:
    """Run one stream of one account (beat, "Sync now" and webhooks call this)."""
    if not VendorAccount.objects.filter(pk=account_id).exists():
        return f"account {account_id} is gone"
    run = execute_stream(account_id, stream, trigger=trigger, run_id=run_id)
    if run is None:
        return "skipped: account disabled or needs attention"
    if getattr(run, "transient", False) and self.request.retries < self.max_retries:
        delay = STREAM_RETRY_DELAYS[self.request.retries]
        # Without this a daily stream would wait a whole day after a blip.
        raise self.retry(
            args=(account_id, stream, trigger, None),
            countdown=max(delay, run.retry_after or 0),
        )
    return (
        f"{stream}: {run.status} (+{run.created} ~{run.updated} -{run.removed} "
        f"={run.unchanged}, {run.requests} requests)"
    )


def enqueue_sync(account: VendorAccount, streams=None, trigger=Trigger.MANUAL) -> list:
    """Queue runs now (after commit) and return their SyncRun rows; each goes to
    its stream's queue (a live stream's to the live worker, `core.routing`)."""
    from cobrowse_portal.vendorkit.runs import queue_run

    from .routing import stream_queue

    spec = account.spec
    names = streams or [s.name for s in spec.streams]
    runs = [queue_run(account, name, trigger) for name in names]
    for run in runs:
        transaction.on_commit(
            lambda r=run: run_stream.apply_async(
                (account.pk, r.stream, trigger, r.pk),
                queue=stream_queue(spec.stream(r.stream)),
            )
        )
    return runs


# --- webhook events: one drain per account, however many deliveries -------------
#: The flag "a processing task is queued for this account" (a SyncClaim row).
WEBHOOKS_QUEUED = "webhooks:queued"
#: A raised flag whose task never ran stops blocking new tasks after this long.
WEBHOOKS_QUEUED_TTL = 120
#: Events read per query of the drain (the claim is refreshed after each), and
#: applied per transaction.
DRAIN_BATCH = 500
COMMIT_EVERY = 100


def request_webhook_processing(account_id: int, *, force: bool = False) -> bool:
    """Queue `process_webhook_events` for the account unless one is already queued.

    The intake calls this after every stored event, so a burst of deliveries
    queues one task, not one per event. `force` queues one regardless (the drain's
    end and the sweeper). Returns whether a task was queued.
    """
    if force:
        lower_flag(account_id, WEBHOOKS_QUEUED)
    if not raise_flag(account_id, WEBHOOKS_QUEUED, WEBHOOKS_QUEUED_TTL):
        return False
    try:
        process_webhook_events.delay(account_id)
    except Exception:  # broker down: the event is stored, the sweeper re-queues it
        lower_flag(account_id, WEBHOOKS_QUEUED)
        log.warning("could not queue webhook processing for account %s", account_id)
        return False
    return True


@shared_task(name="core.process_webhook_events")
def process_webhook_events(account_id: int) -> str:
    """Apply all of an account's stored webhook events in the vendor's sequence
    order, until none is left (events arriving meanwhile are drained too).

    Runs for every few events while deliveries arrive, so its own statements are
    few and plain: take the claim (one upsert), lower the flag, read the account,
    then per read of events one query and per batch one transaction; at the end
    one statement frees the claim and lowers the flag, and one looks for events
    that arrived after the last read."""
    claim = acquire_claim(account_id, "webhooks")
    if claim is None:
        # The running drain re-checks for events after it ends; nothing to do.
        return "busy: the running drain picks these up"
    done = 0
    try:
        # From here on a new delivery queues one more task (it may find nothing).
        lower_flag(account_id, WEBHOOKS_QUEUED)
        account = _drain_account(account_id)
        if account is None:
            return f"account {account_id} is gone"
        handler = account.spec.webhooks
        refreshed = time.monotonic()
        while batch := webhooks.pending_events(account_id, DRAIN_BATCH):
            for i in range(0, len(batch), COMMIT_EVERY):
                done += _apply_events(handler, account, batch[i : i + COMMIT_EVERY])
            if time.monotonic() - refreshed > settings.SYNC_CLAIM_TTL_SECONDS / 4:
                claim.heartbeat()
                refreshed = time.monotonic()
    finally:
        # Freed and lowered together: a flag raised after this is a delivery
        # whose task will find the claim free.
        claim.release(lower=WEBHOOKS_QUEUED)
    # A task that found us busy returned without draining: if anything arrived
    # after our last look, queue one more drain.
    if webhooks.has_pending(account_id):
        request_webhook_processing(account_id)
    return f"{done} events applied"


def _drain_account(account_id: int) -> VendorAccount | None:
    """The account as the drain needs it, from one plain query: its id,
    workspace and vendor (its other fields are deferred: read on first use), and
    the workspace's time zone noted for the usage rollups."""
    meta, workspace = VendorAccount._meta, Workspace._meta
    names = [
        f.attname
        for f in meta.concrete_fields
        if f.attname in ("id", "workspace_id", "vendor")
    ]
    using = router.db_for_read(VendorAccount)
    connection = connections[using]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'a.{qn(n)}' for n in names)}, w.{qn('time_zone')} "
            f"FROM {qn(meta.db_table)} a JOIN {qn(workspace.db_table)} w "
            f"ON w.{qn('id')} = a.{qn('workspace_id')} WHERE a.{qn('id')} = %s",
            [account_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    account = VendorAccount.from_db(using, names, row[:-1])
    account._usage_zone = row[-1] or "UTC"  # read by vendorkit.activity
    return account


def _apply_events(handler, account, events: list[Event]) -> int:
    """Apply events in order in one transaction (one commit, not one per event):
    the handler applies the batch (`WebhookHandler.apply_batch`) and the events
    are marked in one UPDATE. If that fails, the transaction is rolled back and
    the batch applied again with each event in its own savepoint, so one bad
    event does not block the rest."""
    # The control room's index follows the batch in one bulk write at its end,
    # inside the transaction (not one index write per event).
    try:
        with transaction.atomic(), deferred_index():
            _mark(events, handler.apply_batch(account, events))
        return len(events)
    except Exception:
        log.warning(
            "a batch of %d webhook events of account %s was rolled back; "
            "applying them one at a time",
            len(events),
            account.pk,
            exc_info=True,
        )
    with transaction.atomic(), deferred_index():
        failed = {}
        for i, event in enumerate(events):
            try:
                with transaction.atomic():
                    handler.apply(account, event)
            except Exception as exc:
                failed[i] = exc
        _mark(events, failed)
    return len(events)


def _mark(events: list[Event], failed: dict[int, Exception]) -> None:
    webhooks.mark_events(
        [e.pk for i, e in enumerate(events) if i not in failed], EventStatus.PROCESSED
    )
    for i, exc in failed.items():
        log.error("webhook event %s failed", events[i].pk, exc_info=exc)
        webhooks.mark_events(
            [events[i].pk],
            EventStatus.FAILED,
            redact(f"{type(exc).__name__}: {exc}")[:500],
        )


# --- the sweeper: nothing waits forever ------------------------------------------
@shared_task(name="core.sweep")
def sweep() -> str:
    """Beat runs this every minute (migration core 0005): re-queue webhook events
    and kept writes whose task was lost, and fail runs whose worker stopped."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEP_GRACE_SECONDS)
    accounts = list(
        WebhookEvent.objects.filter(status=EventStatus.RECEIVED, received_at__lt=cutoff)
        .values_list("account_id", flat=True)
        .distinct()
    )
    for account_id in accounts:
        request_webhook_processing(account_id, force=True)
    writes = requeue_overdue_writes(cutoff)
    runs = fail_dead_runs(now)
    # Apps with queues of their own sweep them too (provisioning steps).
    others = [text for _receiver, text in sweeping.send(sender=sweep, now=now) if text]
    return "; ".join(
        [
            f"re-queued webhooks of {len(accounts)} accounts and {writes} kept "
            f"writes; failed {runs} dead runs",
            *others,
        ]
    )


def requeue_overdue_writes(cutoff, limit: int = 500) -> int:
    """Kept writes still pending well after their retry was due: their task was
    lost. Each is handed to `core.retry_pending_write` again (by id; replaying is
    idempotent), and marked so the next sweep does not queue it twice."""
    from .choices import WriteStatus
    from .models import PendingWrite

    overdue = list(
        PendingWrite.objects.filter(
            status=WriteStatus.PENDING, next_attempt_at__lt=cutoff
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    if overdue:
        PendingWrite.objects.filter(pk__in=overdue).update(
            next_attempt_at=timezone.now()
        )
    for pk in overdue:
        transaction.on_commit(lambda pk=pk: retry_pending_write.delay(pk))
    return len(overdue)


@shared_task(name="core.retry_pending_write")
def retry_pending_write(pending_id: int) -> str:
    """Replay one kept write (see core.writes)."""
    from .choices import WriteStatus
    from .models import PendingWrite
    from .writes import replay

    pending = (
        PendingWrite.objects.select_related("account")
        .filter(pk=pending_id, status=WriteStatus.PENDING)
        .first()
    )
    if pending is None:
        return "nothing to do"
    return replay(pending)
