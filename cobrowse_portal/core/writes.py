"""Writes kept and retried: when a vendor is unreachable, an idempotent change the
user made is stored (`PendingWrite`) and replayed by Celery with backoff until
the vendor answers, refuses, or the attempts run out. Nothing typed is lost.

The kept writes of one vendor object (same account and target) are a queue:

- replayed in order, oldest first: a later write never runs while an earlier one
  is still pending (its task waits; the earlier one's replay drains the queue);
- merged: a new write of the same action folds the pending ones' kwargs in (the
  service's `merge`, by default later kwargs override earlier ones), so one call
  carries the user's last intent and the older rows are marked superseded; a
  service declared `removes=True` (a delete) supersedes every earlier change;
- shown: `intended()` / `overlay()` lay the pending kwargs over the local rows
  (in memory, never saved) so pages and follow-up writes (a toggle) use the
  value the user asked for, not the stale one the vendor still has;
- and a write on an object that already has a queue joins it instead of
  overtaking it (`QueuedBehind`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import reduce
from typing import Any

from celery import current_app
from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cobrowse_portal.vendorkit.errors import TransientVendorError, VendorError
from cobrowse_portal.vendorkit.redaction import redact

from .choices import WriteStatus
from .models import PendingWrite, VendorAccount

log = logging.getLogger("cobrowse.core.writes")

#: Seconds before each retry: about two hours of trying in all.
RETRY_DELAYS = (30, 60, 120, 300, 600, 1200, 1800, 3600)
#: A replay that finds its object's queue busy (another worker replaying it)
#: tries again after this many seconds.
BUSY_DELAY = 5

Merge = Callable[[dict, dict], dict]


def later_wins(earlier: dict, later: dict) -> dict:
    """The default merge: the later write's kwargs override the earlier's."""
    return {**earlier, **later}


def retryable(
    func: Callable | None = None,
    *,
    merge: Merge | None = None,
    shows: dict[str, str] | None = None,
    removes: bool = False,
) -> Callable:
    """Mark a service function `(account, [target], **kwargs)` as safe to replay.

    Only idempotent vendor calls qualify: a replay after an answer that got lost
    on the way back must do no harm; kwargs are absolute target values (never
    "flip"). Options, for the queue of kept writes of one object:

    - `merge(earlier_kwargs, later_kwargs)`: how a new kept write of this action
      folds in a pending one (default `later_wins`);
    - `shows`: kwarg → attribute of the target that the kwarg sets, so pages can
      show the pending value (`overlay`); by default a kwarg named like a field
      of the target's model shows on that field; None values show nothing;
    - `removes`: the call deletes the object, so it supersedes every earlier
      pending change to it.

    Use bare (`@retryable`) or with options (`@retryable(shows={...})`).
    """

    def mark(f: Callable) -> Callable:
        f.retryable = True
        f.merge_kwargs = merge or later_wins
        f.shows = dict(shows or {})
        f.removes = removes
        return f

    return mark(func) if func is not None else mark


def action_name(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def _resolve(action: str) -> Callable | None:
    """The @retryable service an action names, or None. The stored name is data:
    only a vendor's @retryable service may run."""
    if not action.startswith("vendors."):
        return None
    try:
        func = import_string(action)
    except ImportError:
        return None
    return func if getattr(func, "retryable", False) else None


def _target_key(target) -> tuple[str, int | None]:
    return (target._meta.label, target.pk) if target is not None else ("", None)


def queue_of(account_id: int, target_model: str, target_pk: int | None):
    """The pending kept writes of one object, oldest (next to run) first."""
    qs = PendingWrite.objects.filter(
        account_id=account_id, target_model=target_model, status=WriteStatus.PENDING
    )
    qs = (
        qs.filter(target_pk=target_pk)
        if target_pk is not None
        else qs.filter(target_pk__isnull=True)
    )
    return qs.order_by("id")


def pending_for(account: VendorAccount, target=None):
    """The pending kept writes of `target` (None: the account's untargeted ones)."""
    return queue_of(account.pk, *_target_key(target))


class QueuedBehind(TransientVendorError):
    """Raised instead of calling the vendor: earlier changes to this object are
    still waiting, and a new write must not overtake them. It is transient, so
    the write flow keeps the write at the end of the queue (merged)."""

    def __init__(self, ahead: int) -> None:
        self.ahead = ahead
        super().__init__(f"{ahead} earlier change(s) to this object are still waiting")


def ensure_not_behind(account: VendorAccount, target=None) -> None:
    """Raise `QueuedBehind` when `target` has kept writes still pending."""
    ahead = pending_for(account, target).count()
    if ahead:
        raise QueuedBehind(ahead)


def defer(
    account: VendorAccount,
    func: Callable,
    *,
    description: str,
    target=None,
    kwargs: dict | None = None,
    user=None,
) -> PendingWrite:
    """Keep a write at the end of its object's queue and schedule its first retry
    (after commit). Pending writes of the same action are merged into it (or, for
    a `removes` action, every pending change) and marked superseded."""
    if not getattr(func, "retryable", False):
        raise ValueError(f"{func.__qualname__} is not marked @retryable")
    action = action_name(func)
    target_model, target_pk = _target_key(target)
    with transaction.atomic():
        queue = list(queue_of(account.pk, target_model, target_pk).select_for_update())
        if getattr(func, "removes", False):
            folded = queue
            merged = dict(kwargs or {})
        else:
            folded = [w for w in queue if w.action == action]
            merge = getattr(func, "merge_kwargs", later_wins)
            merged = reduce(merge, [w.kwargs for w in folded] + [dict(kwargs or {})])
        pending = PendingWrite.objects.create(
            account=account,
            action=action,
            target_model=target_model,
            target_pk=target_pk,
            kwargs=merged,
            description=description[:300],
            created_by=user if getattr(user, "is_authenticated", False) else None,
            next_attempt_at=timezone.now() + timedelta(seconds=RETRY_DELAYS[0]),
        )
        if folded:
            # What they had folded in now lives in the new write too.
            PendingWrite.objects.filter(superseded_by__in=folded).update(
                superseded_by=pending
            )
            PendingWrite.objects.filter(
                pk__in=[w.pk for w in folded], status=WriteStatus.PENDING
            ).update(
                status=WriteStatus.SUPERSEDED,
                superseded_by=pending,
                next_attempt_at=None,
                updated_at=timezone.now(),
            )
    schedule(pending, RETRY_DELAYS[0])
    return pending


#: The Celery task that replays one kept write (core.tasks calls `replay`): looked
#: up by its name, so this module never imports the tasks that import it.
RETRY_TASK = "core.retry_pending_write"


def schedule(pending: PendingWrite, countdown: float) -> None:
    task = current_app.tasks[RETRY_TASK]
    transaction.on_commit(lambda: task.apply_async((pending.pk,), countdown=countdown))


def retry_now(pending: PendingWrite) -> PendingWrite:
    """Replay `pending`'s queue now, from its head (a later write cannot go first);
    returns the write that will run."""
    head = queue_of(pending.account_id, pending.target_model, pending.target_pk).first()
    head = head or pending
    schedule(head, 0)
    return head


def _claim_name(pending: PendingWrite) -> str:
    """The claim serialising the replays of one object's queue (≤ 40 chars)."""
    key = f"{pending.target_model}:{pending.target_pk}".encode()
    return "writes:" + hashlib.sha1(key, usedforsecurity=False).hexdigest()[:24]


def replay(pending: PendingWrite) -> str:
    """Replay `pending` if it is next in its object's queue, then the writes queued
    behind it, in order, while they go through (or fail for good). A write with
    an earlier one still pending waits for it (the earlier replay drains it)."""
    from cobrowse_portal.vendorkit.runs import acquire_claim

    claim = acquire_claim(pending.account_id, _claim_name(pending))
    if claim is None:
        schedule(pending, BUSY_DELAY)
        return "busy; re-queued"
    try:
        queue = queue_of(pending.account_id, pending.target_model, pending.target_pk)
        head = queue.select_related("account").first()
        if head is None:
            return "nothing to do"
        due = head.next_attempt_at
        if head.pk != pending.pk and due is not None and due > timezone.now():
            # Not our turn: the earlier write has a try scheduled, and its replay
            # drains the queue. Look again just after it, in case it is
            # discarded instead.
            schedule(pending, (due - timezone.now()).total_seconds() + BUSY_DELAY)
            return f"waiting for earlier change #{head.pk}"
        # Our turn, or the earlier write is overdue (its task was lost): replay
        # the queue from its head, in order.
        outcomes = []
        while head is not None:
            outcomes.append(_replay_one(head))
            if head.status == WriteStatus.PENDING:  # will retry: the queue waits
                break
            head = queue.select_related("account").first()
        return "; ".join(outcomes)
    finally:
        claim.release()


def _replay_one(pending: PendingWrite) -> str:
    """Try one write once more; record the outcome and schedule the next try."""
    func = _resolve(pending.action)
    if func is None:
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
            if _record(pending, "attempts", "last_error", "next_attempt_at"):
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
    _record(pending, "status", "attempts", "last_error", "next_attempt_at")
    return f"{status}: {pending.description}"


def _record(pending: PendingWrite, *fields: str) -> bool:
    """Save the outcome of a replay unless the write stopped being pending
    meanwhile (merged into a newer write, or discarded, while the vendor call
    was under way): that newer state wins. True if saved."""
    values = {name: getattr(pending, name) for name in fields}
    return bool(
        PendingWrite.objects.filter(pk=pending.pk, status=WriteStatus.PENDING).update(
            **values, updated_at=timezone.now()
        )
    )


# --- showing the intended state ----------------------------------------------------
def _shown(func: Callable, model, kwargs: dict) -> dict[str, Any]:
    """The attributes of a `model` row that `func(**kwargs)` sets."""
    shows = getattr(func, "shows", {}) or {}
    names = {f.attname for f in model._meta.concrete_fields}
    values = {}
    for key, value in kwargs.items():
        attr = shows.get(key) or (key if key in names else None)
        if attr and value is not None:
            values[attr] = value
    return values


def overlay(account: VendorAccount, objects: Iterable) -> list:
    """Lay the pending kept writes of `objects` (rows of one model) over them, in
    memory: each changed attribute takes the value the user asked for. Every
    object gets `pending_writes` (its queue, oldest first), `pending_fields` (the
    attributes overlaid), `vendor_values` (what the vendor still has) and
    `pending_removal` (a delete is waiting). Never save an overlaid object."""
    objects = list(objects)
    for obj in objects:
        obj.pending_writes, obj.pending_fields = [], set()
        obj.vendor_values, obj.pending_removal = {}, False
    if not objects:
        return objects
    model = type(objects[0])
    by_pk = {obj.pk: obj for obj in objects}
    writes = PendingWrite.objects.filter(
        account=account,
        target_model=model._meta.label,
        target_pk__in=list(by_pk),
        status=WriteStatus.PENDING,
    ).order_by("id")
    for write in writes:
        obj = by_pk[write.target_pk]
        obj.pending_writes.append(write)
        func = _resolve(write.action)
        if func is None:
            continue
        if getattr(func, "removes", False):
            obj.pending_removal = True
            continue
        for attr, value in _shown(func, model, write.kwargs).items():
            obj.vendor_values.setdefault(attr, getattr(obj, attr, None))
            setattr(obj, attr, value)
            obj.pending_fields.add(attr)
    return objects


def intended(account: VendorAccount, obj):
    """`obj` with its pending kept writes laid over it (see `overlay`)."""
    return overlay(account, [obj])[0] if obj is not None else obj


# --- listing -------------------------------------------------------------------------
def listing(account: VendorAccount, limit: int = 20) -> list[PendingWrite]:
    """The account's kept writes still to do or failed, newest first, for the
    account page: each with `merged_into_it` (the descriptions of the earlier
    changes folded into it) and `waits_for` (the earlier pending write of the
    same object it runs after, or None)."""
    rows = list(
        account.pending_writes.filter(
            status__in=[WriteStatus.PENDING, WriteStatus.FAILED]
        ).select_related("created_by")[:limit]
    )
    merged: dict[int, list[str]] = {}
    for pk, text in (
        PendingWrite.objects.filter(
            superseded_by__in=[r.pk for r in rows], status=WriteStatus.SUPERSEDED
        )
        .order_by("id")
        .values_list("superseded_by", "description")
    ):
        merged.setdefault(pk, []).append(text)
    heads: dict[tuple[str, int | None], int] = {}
    for row in sorted(rows, key=lambda r: r.pk):
        row.merged_into_it = merged.get(row.pk, [])
        row.waits_for = None
        if row.status != WriteStatus.PENDING:
            continue
        key = (row.target_model, row.target_pk)
        if key not in heads:
            head = queue_of(account.pk, *key).values_list("pk", flat=True).first()
            heads[key] = head if head is not None else row.pk
        if heads[key] != row.pk:
            row.waits_for = heads[key]
    return rows
