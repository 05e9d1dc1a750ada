"""Celery tasks of the portal core. Arguments are ids; results are short summaries."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

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
from .models import VendorAccount, WebhookEvent

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
    """Queue runs now (after commit) and return their SyncRun rows."""
    from cobrowse_portal.vendorkit.runs import queue_run

    names = streams or [s.name for s in account.spec.streams]
    runs = [queue_run(account, name, trigger) for name in names]
    for run in runs:
        transaction.on_commit(
            lambda r=run: run_stream.delay(account.pk, r.stream, trigger, r.pk)
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
    order, until none is left (events arriving meanwhile are drained too)."""
    claim = acquire_claim(account_id, "webhooks")
    if claim is None:
        # The running drain re-checks for events after it ends; nothing to do.
        return "busy: the running drain picks these up"
    done = 0
    try:
        # From here on a new delivery queues one more task (it may find nothing).
        lower_flag(account_id, WEBHOOKS_QUEUED)
        account = VendorAccount.objects.filter(pk=account_id).first()
        if account is None:
            return f"account {account_id} is gone"
        handler = account.spec.webhooks
        while True:
            batch = [
                Event(*row)
                for row in WebhookEvent.objects.filter(
                    account=account, status=EventStatus.RECEIVED
                )
                .order_by("sequence", "id")
                .values_list("pk", "sequence", "event_type", "payload")[:DRAIN_BATCH]
            ]
            if not batch:
                break
            for i in range(0, len(batch), COMMIT_EVERY):
                done += _apply_events(handler, account, batch[i : i + COMMIT_EVERY])
            claim.heartbeat()
    finally:
        claim.release()
    # A task that found us busy returned without draining: if anything arrived
    # after our last look, queue one more drain (the flag may be theirs: force).
    lower_flag(account_id, WEBHOOKS_QUEUED)
    if WebhookEvent.objects.filter(
        account_id=account_id, status=EventStatus.RECEIVED
    ).exists():
        request_webhook_processing(account_id, force=True)
    return f"{done} events applied"


def _apply_events(handler, account, events: list[Event]) -> int:
    """Apply events in order in one transaction (one commit, not one per event):
    the handler applies the batch (`WebhookHandler.apply_batch`, one savepoint);
    if that fails, the batch is rolled back and each event applied in its own
    savepoint, so one bad event does not block the rest. The events are marked
    in one UPDATE."""
    # The control room's index follows the batch in one bulk write at its end,
    # inside this transaction (not one index write per event).
    with transaction.atomic(), deferred_index():
        try:
            with transaction.atomic():
                failed = handler.apply_batch(account, events)
        except Exception:
            log.warning(
                "a batch of %d webhook events of account %s was rolled back; "
                "applying them one at a time",
                len(events),
                account.pk,
                exc_info=True,
            )
            failed = {}
            for i, event in enumerate(events):
                try:
                    with transaction.atomic():
                        handler.apply(account, event)
                except Exception as exc:
                    failed[i] = exc
        applied = [e.pk for i, e in enumerate(events) if i not in failed]
        WebhookEvent.objects.filter(pk__in=applied).update(
            status=EventStatus.PROCESSED, error="", processed_at=timezone.now()
        )
        for i, exc in failed.items():
            log.error("webhook event %s failed", events[i].pk, exc_info=exc)
            WebhookEvent.objects.filter(pk=events[i].pk).update(
                status=EventStatus.FAILED,
                error=redact(f"{type(exc).__name__}: {exc}")[:500],
            )
    return len(events)


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
    return (
        f"re-queued webhooks of {len(accounts)} accounts and {writes} kept writes; "
        f"failed {runs} dead runs"
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
