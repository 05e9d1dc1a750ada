from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cobrowse_portal.core"
    label = "core"
    verbose_name = "Portal"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401
