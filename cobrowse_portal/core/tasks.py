"""Celery tasks of the portal core. Arguments are ids; results are short summaries."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from cobrowse_portal.vendorkit.runs import acquire_claim, execute_stream

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


@shared_task(name="core.process_webhook_events")
def process_webhook_events(account_id: int) -> str:
    """Apply an account's stored webhook events in the vendor's sequence order."""
    claim = acquire_claim(account_id, "webhooks")
    if claim is None:
        # The running task will pick up our events; re-check soon in case it missed.
        process_webhook_events.apply_async((account_id,), countdown=2)
        return "busy; re-queued"
    done = 0
    try:
        account = VendorAccount.objects.get(pk=account_id)
        handler = account.spec.webhooks
        pending = WebhookEvent.objects.filter(
            account=account, status=EventStatus.RECEIVED
        ).order_by("sequence", "id")
        for event in pending:
            try:
                with transaction.atomic():
                    handler.apply(account, event)
                    event.status, event.error = EventStatus.PROCESSED, ""
                    event.processed_at = timezone.now()
                    event.save(update_fields=["status", "error", "processed_at"])
            except Exception as exc:  # one bad event must not block the rest
                log.exception("webhook event %s failed", event.pk)
                event.status, event.error = EventStatus.FAILED, str(exc)[:500]
                event.save(update_fields=["status", "error"])
            done += 1
    finally:
        claim.release()
    return f"{done} events applied"


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
