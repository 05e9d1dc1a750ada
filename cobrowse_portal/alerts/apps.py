from __future__ import annotations

import logging

from django.apps import AppConfig

log = logging.getLogger("cobrowse.alerts")


class AlertsConfig(AppConfig):
    name = "cobrowse_portal.alerts"
    label = "alerts"
    verbose_name = "Alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cobrowse_portal.core.signals import run_finished, sweeping

        from . import rules  # noqa: F401 - registers the rules

        run_finished.connect(_run_finished, dispatch_uid="alerts.run_finished")
        sweeping.connect(_sweep, dispatch_uid="alerts.sweep")
        from django.apps import apps

        if apps.is_installed("cobrowse_portal.reports"):
            from cobrowse_portal.reports import sections

            from .report import open_alerts

            sections.register("open_alerts", "Open alerts", open_alerts, order=50)


def _run_finished(sender, run, account, **kwargs) -> None:
    from .engine import evaluate

    try:
        evaluate(account.workspace)
    except Exception:
        # Alerts must never fail a sync run.
        log.exception("evaluating alerts after run %s", run.pk)


def _sweep(sender, now, **kwargs) -> str:
    from .engine import evaluate_all

    counts = evaluate_all(now)
    return (
        f"alerts: {counts['workspaces']} workspaces, {counts['open']} open, "
        f"+{counts['opened']} opened, {counts['resolved']} resolved"
    )
