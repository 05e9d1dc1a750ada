"""Computing a report for a period, rendering it (page, CSV, e-mail) and sending it.

A run is stored before it is sent, and a failing send is written on the run
(status "failed" and the error), so no run is lost and no page answers 500.
"""

from __future__ import annotations

import csv
import io
import logging
import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from cobrowse_portal.core.models import Workspace

from . import sections
from .mail import backend_description, new_message_id
from .models import OutboxMessage, ReportDefinition, ReportRun, RunState, RunTrigger
from .periods import Period, last_complete, zone_of

log = logging.getLogger(__name__)


def scope_workspaces(definition: ReportDefinition) -> list[Workspace]:
    workspace = definition.workspace
    found = [workspace]
    if definition.covers_clients:
        found += list(
            Workspace.objects.filter(
                parent=workspace, archived_at__isnull=True
            ).order_by("name", "pk")
        )
    return found


def period_for(definition: ReportDefinition, now: datetime | None = None) -> Period:
    zone = zone_of(definition.workspace.time_zone)
    return last_complete(definition.frequency, zone, now or timezone.now())


def compute(definition: ReportDefinition, period: Period) -> dict:
    """The report's figures: every chosen section's tables, JSON-serialisable."""
    scope = sections.Scope(scope_workspaces(definition), period)
    parts = []
    for key in definition.sections:
        section = sections.get(key)
        if section is None:
            continue  # a section whose app is gone: left out, not a crash
        parts.append(
            {"key": key, "label": section.label, "tables": section.build(scope)}
        )
    return {
        "name": definition.name,
        "workspace": definition.workspace.name,
        "workspaces": [w.name for w in scope.workspaces],
        "time_zone": str(period.zone),
        "frequency": definition.frequency,
        "period_label": period.label,
        "first_day": period.first_day.isoformat(),
        "last_day": period.last_day.isoformat(),
        "sections": parts,
    }


def as_csv(figures: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([figures.get("name", ""), figures.get("period_label", "")])
    writer.writerow(["Workspaces", ", ".join(figures.get("workspaces", []))])
    writer.writerow(["Time zone", figures.get("time_zone", "")])
    for part in figures.get("sections", []):
        for table in part.get("tables", []):
            writer.writerow([])
            writer.writerow([table["title"]])
            writer.writerow(table["columns"])
            writer.writerows(table["rows"])
    return out.getvalue()


def csv_name(figures: dict) -> str:
    base = slugify(figures.get("name", "")) or "report"
    return f"{base}-{figures.get('first_day', '')}.csv"


def subject_of(figures: dict) -> str:
    return f"{figures.get('name', 'Report')}: {figures.get('period_label', '')}"


def render_html(figures: dict) -> str:
    return render_to_string("reports/email.html", {"figures": figures})


def render_text(figures: dict) -> str:
    return render_to_string("reports/email.txt", {"figures": figures})


SEND_ERRORS = (smtplib.SMTPException, OSError, ValueError, UnicodeError)


def send(run: ReportRun) -> ReportRun:
    """E-mail the run (HTML body + CSV) to its definition's recipients; the
    outcome goes on the run, and a sent message gets an Outbox row."""
    definition = run.definition
    figures = run.figures
    message_id = new_message_id()
    message = EmailMultiAlternatives(
        subject=subject_of(figures),
        body=render_text(figures),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=definition.recipient_list,
        headers={"Message-ID": message_id},
    )
    message.attach_alternative(render_html(figures), "text/html")
    message.attach(csv_name(figures), as_csv(figures), "text/csv")
    try:
        message.send(fail_silently=False)
    except SEND_ERRORS as exc:
        log.warning("report %s: sending failed: %s", run.pk, exc)
        run.status = RunState.FAILED
        run.error = (
            f"Sending by {backend_description()} failed: {type(exc).__name__}: {exc}"
        )[:2000]
        run.save(update_fields=["status", "error"])
        return run
    now = timezone.now()
    run.status, run.sent_at, run.error = RunState.SENT, now, ""
    run.save(update_fields=["status", "sent_at", "error"])
    OutboxMessage.objects.create(
        workspace=run.workspace,
        run=run,
        subject=message.subject[:300],
        recipients=", ".join(message.to),
        from_email=message.from_email[:300],
        message_id=message_id[:300],
        file_name=getattr(message, "outbox_file_name", ""),
        backend=settings.EMAIL_BACKEND[:200],
        sent_at=now,
    )
    return run


def deliver(
    definition: ReportDefinition,
    trigger: str = RunTrigger.SCHEDULED,
    now: datetime | None = None,
) -> ReportRun:
    """Compute the last complete period's report, store it as a run, send it."""
    period = period_for(definition, now)
    run = ReportRun.objects.create(
        definition=definition,
        workspace=definition.workspace,
        trigger=trigger,
        period_start=period.start,
        period_end=period.end,
        status=RunState.FAILED,
        error="Not sent yet.",
        figures=compute(definition, period),
    )
    return send(run)


def run_scheduled(definition_id: int, now: datetime | None = None) -> str:
    """What beat's task does: one stored and sent run per period (a second send
    of the same period by beat is skipped)."""
    definition = (
        ReportDefinition.objects.select_related("workspace")
        .filter(pk=definition_id)
        .first()
    )
    if definition is None:
        return f"report {definition_id}: gone"
    if not definition.enabled or definition.workspace.archived_at is not None:
        return f"report {definition_id}: disabled"
    period = period_for(definition, now)
    if ReportRun.objects.filter(
        definition=definition,
        trigger=RunTrigger.SCHEDULED,
        period_start=period.start,
    ).exists():
        return f"report {definition_id}: {period.label} done already"
    run = deliver(definition, RunTrigger.SCHEDULED, now)
    return f"report {definition_id}: run {run.pk} {run.status}"
