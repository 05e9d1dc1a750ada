"""Writes kept and retried: when a vendor is unreachable, an idempotent change the
user made is stored (`PendingWrite`) and replayed by Celery with backoff until
the vendor answers, refuses, or the attempts run out. Nothing typed is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cobrowse_portal.vendorkit.errors import VendorError
from cobrowse_portal.vendorkit.redaction import redact

from .choices import WriteStatus
from .models import PendingWrite, VendorAccount

log = logging.getLogger("cobrowse.core.writes")

#: Seconds before each retry: about two hours of trying in all.
RETRY_DELAYS = (30, 60, 120, 300, 600, 1200, 1800, 3600)


def retryable(func: Callable) -> Callable:
    """Mark a service function `(account, [target], **kwargs)` as safe to replay.

    Only idempotent vendor calls qualify: a replay after an answer that got lost
    on the way back must do no harm.
    """
    func.retryable = True
    return func


def defer(
    account: VendorAccount,
    func: Callable,
    *,
    description: str,
    target=None,
    kwargs: dict | None = None,
    user=None,
) -> PendingWrite:
    """Keep a write for later and schedule its first retry (after commit)."""
    if not getattr(func, "retryable", False):
        raise ValueError(f"{func.__qualname__} is not marked @retryable")
    pending = PendingWrite.objects.create(
        account=account,
        action=f"{func.__module__}.{func.__qualname__}",
        target_model=target._meta.label if target is not None else "",
        target_pk=target.pk if target is not None else None,
        kwargs=kwargs or {},
        description=description[:300],
        created_by=user if getattr(user, "is_authenticated", False) else None,
        next_attempt_at=timezone.now() + timedelta(seconds=RETRY_DELAYS[0]),
    )
    schedule(pending, RETRY_DELAYS[0])
    return pending


def schedule(pending: PendingWrite, countdown: float) -> None:
    from .tasks import retry_pending_write

    transaction.on_commit(
        lambda: retry_pending_write.apply_async((pending.pk,), countdown=countdown)
    )


def replay(pending: PendingWrite) -> str:
    """Try the write once more; record the outcome and schedule the next try."""
    # The stored name is data: only a vendor's @retryable service may run.
    func = (
        import_string(pending.action) if pending.action.startswith("vendors.") else None
    )
    if not getattr(func, "retryable", False):
        return _finish(pending, WriteStatus.FAILED, "not a retryable action")
    args = []
    if pending.target_model:
        model = apps.get_model(pending.target_model)
        target = model.objects.filter(pk=pending.target_pk).first()
        if target is None:
            return _finish(pending, WriteStatus.FAILED, "the object no longer exists")
        args.append(target)
    pending.attempts += 1
    try:
        func(pending.account, *args, **pending.kwargs)
    except VendorError as exc:
        if exc.transient and pending.attempts < len(RETRY_DELAYS):
            delay = RETRY_DELAYS[pending.attempts]
            if getattr(exc, "retry_after", None):
                delay = max(delay, exc.retry_after)
            pending.last_error = redact(exc.user_message())[:500]
            pending.next_attempt_at = timezone.now() + timedelta(seconds=delay)
            pending.save()
            schedule(pending, delay)
            return f"will retry in {delay} s"
        return _finish(pending, WriteStatus.FAILED, exc.user_message())
    except Exception as exc:
        log.exception("replaying pending write %s crashed", pending.pk)
        return _finish(
            pending, WriteStatus.FAILED, f"internal error: {type(exc).__name__}"
        )
    return _finish(pending, WriteStatus.SUCCEEDED, "")


def _finish(pending: PendingWrite, status: str, error: str) -> str:
    pending.status, pending.last_error = status, redact(error)[:500]
    pending.next_attempt_at = None
    pending.save()
    return f"{status}: {pending.description}"
