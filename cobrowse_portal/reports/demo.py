"""The demo's report: one daily report of the reseller (covering its clients),
run once so `make run` shows its last run and the Outbox holds it."""

from __future__ import annotations

from . import sections
from .engine import deliver
from .models import ReportDefinition, RunTrigger

DEMO_REPORT = "Daily operations"


def demo_report(reseller) -> str:
    definition, created = ReportDefinition.objects.get_or_create(
        workspace=reseller,
        name=DEMO_REPORT,
        defaults={
            "frequency": "daily",
            "hour": 7,
            "recipients": "ops@example.com",
            "sections": [key for key, _label in sections.choices()],
            "include_clients": True,
        },
    )
    if definition.runs.exists():
        return f"“{definition.name}” exists, {definition.runs.count()} runs"
    run = deliver(definition, RunTrigger.SCHEDULED)
    return f"“{definition.name}” {'created' if created else 'kept'}, run {run.status}"
