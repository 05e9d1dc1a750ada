"""Evaluating the rules of a workspace: open, bump, resolve, and e-mail.

Runs after every sync run (the `run_finished` signal) and every minute for all
workspaces (the sweeper's `sweeping` signal). Every e-mail is claimed first by
a conditional UPDATE of its timestamp, so two evaluations at once (a run's and
the sweep's) never send the same e-mail twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core import pagecache
from cobrowse_portal.core.models import Workspace

from .models import Alert, AlertSettings, AlertStatus
from .rules import RULES

log = logging.getLogger("cobrowse.alerts")


def evaluate(workspace: Workspace, now: datetime | None = None) -> dict[str, int]:
    """Run every rule over `workspace`; returns counts of what changed."""
    now = now or timezone.now()
    config = AlertSettings.for_workspace(workspace)
    found, broken = {}, set()
    for rule in RULES.values():
        try:
            conditions = list(rule.func(workspace, config, now))
        except Exception:
            # One rule's bug must not silence the others; its open alerts stay
            # open (not knowing is not "cleared").
            log.exception("alert rule %s failed in workspace %s", rule.name, workspace)
            broken.add(rule.name)
            continue
        for condition in conditions:
            found[(rule.name, condition.key)] = condition
    counts = {"opened": 0, "resolved": 0, "open": len(found)}
    open_alerts = {
        (a.rule, a.key): a
        for a in Alert.objects.filter(workspace=workspace, status=AlertStatus.OPEN)
    }
    for (name, key), condition in found.items():
        alert = open_alerts.get((name, key))
        if alert is not None:
            Alert.objects.filter(pk=alert.pk).update(
                last_seen=now, subject=condition.subject, message=condition.message
            )
            continue
        try:
            with transaction.atomic():
                Alert.objects.create(
                    workspace=workspace,
                    rule=name,
                    key=key,
                    subject=condition.subject[:300],
                    message=condition.message,
                    account_id=condition.account_id,
                    first_seen=now,
                    last_seen=now,
                )
            counts["opened"] += 1
        except IntegrityError:
            # Another evaluation opened it a moment ago: bump that one.
            Alert.objects.filter(
                workspace=workspace, rule=name, key=key, status=AlertStatus.OPEN
            ).update(last_seen=now)
    gone = [
        a.pk for k, a in open_alerts.items() if k not in found and k[0] not in broken
    ]
    if gone:
        counts["resolved"] = Alert.objects.filter(
            pk__in=gone, status=AlertStatus.OPEN
        ).update(status=AlertStatus.RESOLVED, resolved_at=now)
    if counts["opened"] or counts["resolved"]:
        # The dashboard (a kept page) lists open alerts: show the change at once.
        pagecache.bump([workspace.pk])
    notify(workspace, config, now)
    return counts


def evaluate_all(now: datetime | None = None) -> dict[str, int]:
    """Every live workspace (the sweeper calls this every minute)."""
    now = now or timezone.now()
    total = {"workspaces": 0, "opened": 0, "resolved": 0, "open": 0}
    for workspace in Workspace.objects.filter(archived_at__isnull=True).order_by("pk"):
        try:
            counts = evaluate(workspace, now)
        except Exception:
            # One workspace's broken data must not stop the others' alerts.
            log.exception("evaluating the alerts of workspace %s", workspace.pk)
            continue
        total["workspaces"] += 1
        for name, value in counts.items():
            total[name] += value
    return total


def notify(workspace: Workspace, config: AlertSettings, now: datetime) -> int:
    """Send what is due: opened (once), reminders every R hours while open and
    unacknowledged, resolved (once, when the setting says so and the opening was
    sent). Returns the number of e-mails sent."""
    sent = 0
    alerts = Alert.objects.filter(workspace=workspace)
    for alert in alerts.filter(status=AlertStatus.OPEN, notified_open_at__isnull=True):
        if _claim(alert, "notified_open_at", None, now, last_reminded_at=now):
            sent += _send(workspace, config, alert, "opened")
    due = now - timedelta(hours=config.reminder_hours)
    reminders = alerts.filter(
        status=AlertStatus.OPEN,
        acknowledged_at__isnull=True,
        notified_open_at__isnull=False,
    ).filter(Q(last_reminded_at__lte=due) | Q(last_reminded_at__isnull=True))
    for alert in reminders:
        if _claim(alert, "last_reminded_at", alert.last_reminded_at, now):
            sent += _send(workspace, config, alert, "reminder")
    if config.notify_on_resolve:
        resolved = alerts.filter(
            status=AlertStatus.RESOLVED,
            notified_open_at__isnull=False,
            notified_resolved_at__isnull=True,
        )
        for alert in resolved:
            if _claim(alert, "notified_resolved_at", None, now):
                sent += _send(workspace, config, alert, "resolved")
    return sent


def _claim(alert: Alert, field: str, expected, now, **also) -> bool:
    """Set `field` to `now` only if it still holds `expected` (one sender wins)."""
    match = {f"{field}__isnull": True} if expected is None else {field: expected}
    won = Alert.objects.filter(pk=alert.pk, **match).update(**{field: now}, **also)
    if won:
        setattr(alert, field, now)
    return bool(won)


SUBJECTS = {
    "opened": "[{ws}] Alert: {label} — {subject}",
    "reminder": "[{ws}] Still open: {label} — {subject}",
    "resolved": "[{ws}] Resolved: {label} — {subject}",
}


def _send(workspace, config, alert: Alert, event: str) -> int:
    recipients = config.recipient_list()
    if not recipients:
        log.warning("alert %s: workspace %s has nobody to e-mail", alert.pk, workspace)
        return 0
    subject = SUBJECTS[event].format(
        ws=workspace.name, label=alert.rule_label, subject=alert.subject
    )
    base = settings.SITE_URL.rstrip("/")
    body = render_to_string(
        "alerts/email.txt",
        {
            "alert": alert,
            "event": event,
            "workspace": workspace,
            "config": config,
            "url": base + reverse("alerts:list"),
        },
    )
    message = EmailMessage(subject=subject[:250], body=body, to=recipients)
    try:
        message.send()
    except Exception:
        # The timestamp stays set: a broken mail server must not turn every
        # minute's sweep into another attempt at the same e-mail.
        log.exception("sending the %s e-mail of alert %s", event, alert.pk)
        return 0
    return 1
