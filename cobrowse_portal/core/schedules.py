"""Per-account beat schedules in the database (django-celery-beat).

Creating an account creates one PeriodicTask per stream the vendor declares, at the
vendor's default interval; intervals are then editable in the portal and the admin.
Disabling or deleting the account removes them.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

TASK = "core.run_stream"


def task_name(account_id: int, stream: str) -> str:
    return f"account-{account_id}-{stream}"


def _interval(seconds: int) -> IntervalSchedule:
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    return schedule


@transaction.atomic
def sync_schedules(account) -> list[PeriodicTask]:
    """Make the account's periodic tasks match its vendor's streams and state."""
    if not account.enabled:
        remove_schedules(account.pk)
        return []
    tasks = []
    wanted = set()
    for stream in account.spec.streams:
        name = task_name(account.pk, stream.name)
        wanted.add(name)
        task = PeriodicTask.objects.filter(name=name).first()
        if task is None:
            task = PeriodicTask.objects.create(
                name=name,
                task=TASK,
                interval=_interval(stream.every),
                kwargs=json.dumps({"account_id": account.pk, "stream": stream.name}),
                # Never let a backlog of one stream pile up behind a slow vendor.
                expire_seconds=max(30, int(stream.every * 0.9)),
                description=f"{account}: {stream.label}",
                # Due at once: a new account shows data without waiting a whole
                # interval (beat otherwise counts the first interval from now).
                last_run_at=timezone.now() - timedelta(seconds=stream.every),
            )
        tasks.append(task)
    PeriodicTask.objects.filter(name__startswith=f"account-{account.pk}-").exclude(
        name__in=wanted
    ).delete()
    return tasks


def remove_schedules(account_id: int) -> None:
    PeriodicTask.objects.filter(name__startswith=f"account-{account_id}-").delete()


def schedules_for(account, *, with_runs: bool = True) -> list[dict]:
    """Each stream with its task, interval, last run and next due time (for pages).

    "Last run" is the newest SyncRun of the stream (what really happened), not the
    task's `last_run_at`, which is back-dated when the task is created (so it is
    due at once). The next due time counts from `last_run_at`, which beat writes
    back after every send (`CELERY_BEAT_SYNC_EVERY = 1`). `with_runs=False` skips
    the SyncRun read for pages that show only the next due time (the dashboard).
    """
    return schedules_by_account([account], with_runs=with_runs)[account.pk]


def schedules_by_account(accounts, *, with_runs: bool = True) -> dict[int, list[dict]]:
    """`schedules_for` of every account in `accounts`, by account pk: one query of
    tasks for all of them (by exact name, the unique index), and one of runs."""
    from .models import SyncRun

    accounts = list(accounts)
    names = [
        task_name(account.pk, stream.name)
        for account in accounts
        for stream in account.spec.streams
    ]
    tasks = {}
    if names:
        tasks = {
            t.name: t
            for t in PeriodicTask.objects.filter(name__in=names).select_related(
                "interval"
            )
        }
    last_runs = {}
    if with_runs and names:
        last_runs = {
            (account_id, stream): last
            for account_id, stream, last in SyncRun.objects.filter(
                account__in=[a.pk for a in accounts]
            )
            .values("account_id", "stream")
            .annotate(last=Max("queued_at"))
            .order_by()
            .values_list("account_id", "stream", "last")
        }
    now = timezone.now()
    out = {}
    for account in accounts:
        rows = out[account.pk] = []
        for stream in account.spec.streams:
            task = tasks.get(task_name(account.pk, stream.name))
            every = task.interval.every if task and task.interval else None
            next_due = None
            if task and every and task.enabled:
                base = task.last_run_at or task.date_changed or now
                # An overdue time means "due now" (beat sends it at its next tick).
                next_due = max(base + timedelta(seconds=every), now)
            rows.append(
                {
                    "stream": stream,
                    "task": task,
                    "every": every,
                    "last_run": last_runs.get((account.pk, stream.name)),
                    "next_due": next_due,
                }
            )
    return out


def set_interval(account, stream: str, seconds: int, enabled: bool = True) -> None:
    task = PeriodicTask.objects.get(name=task_name(account.pk, stream))
    task.interval = _interval(seconds)
    task.expire_seconds = max(30, int(seconds * 0.9))
    task.enabled = enabled
    task.save()


# --- the platform's own schedule ------------------------------------------------
SWEEP_NAME = "core-sweep"
SWEEP_TASK = "core.sweep"
SWEEP_EVERY = 60


def ensure_sweeper(periodic_task=PeriodicTask, interval_schedule=IntervalSchedule):
    """The fixed beat entry of `core.sweep` (every minute); created by migration
    core 0005, and again here if someone deleted it. Takes the models so the data
    migration can pass its historical ones."""
    schedule, _ = interval_schedule.objects.get_or_create(
        every=SWEEP_EVERY, period="seconds"
    )
    task, _ = periodic_task.objects.get_or_create(
        name=SWEEP_NAME,
        defaults={
            "task": SWEEP_TASK,
            "interval": schedule,
            "expire_seconds": SWEEP_EVERY - 10,
            "description": "Re-queue lost webhook and kept-write tasks; fail runs "
            "whose worker stopped.",
        },
    )
    return task
