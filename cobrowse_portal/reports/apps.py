from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "cobrowse_portal.reports"
    label = "reports"
    verbose_name = "Scheduled reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import sections, signals  # noqa: F401  (registers the sections)
