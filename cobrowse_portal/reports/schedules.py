"""One django-celery-beat PeriodicTask per report definition, on a crontab in the
workspace's time zone; kept in step by signals (portal and admin edits alike)."""

from __future__ import annotations

import json

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from .models import Frequency
from .periods import zone_of

TASK = "reports.run_report"


def task_name(definition_id: int) -> str:
    return f"report-{definition_id}"


def crontab_fields(definition) -> dict:
    # cron counts weekdays from Sunday = 0; Weekday counts from Monday = 0.
    day_of_week = "*"
    day_of_month = "*"
    if definition.frequency == Frequency.WEEKLY:
        day_of_week = str((definition.weekday + 1) % 7)
    elif definition.frequency == Frequency.MONTHLY:
        day_of_month = str(definition.day_of_month)
    return {
        "minute": "0",
        "hour": str(definition.hour),
        "day_of_week": day_of_week,
        "day_of_month": day_of_month,
        "month_of_year": "*",
        "timezone": str(zone_of(definition.workspace.time_zone)),
    }


def _crontab(definition) -> CrontabSchedule:
    fields = crontab_fields(definition)
    found = CrontabSchedule.objects.filter(**fields).order_by("pk").first()
    return found or CrontabSchedule.objects.create(**fields)


@transaction.atomic
def sync_schedule(definition) -> PeriodicTask | None:
    name = task_name(definition.pk)
    if not definition.enabled or definition.workspace.archived_at is not None:
        remove_schedule(definition.pk)
        return None
    values = {
        "task": TASK,
        "crontab": _crontab(definition),
        "interval": None,
        "kwargs": json.dumps({"definition_id": definition.pk}),
        "description": f"Report “{definition.name}” of {definition.workspace}: "
        f"{definition.schedule_text}",
        "enabled": True,
        "expire_seconds": 6 * 3600,
    }
    task = PeriodicTask.objects.filter(name=name).first()
    if task is None:
        return PeriodicTask.objects.create(name=name, **values)
    for key, value in values.items():
        setattr(task, key, value)
    task.save()
    return task


def remove_schedule(definition_id: int) -> None:
    PeriodicTask.objects.filter(name=task_name(definition_id)).delete()
