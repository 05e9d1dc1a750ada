from __future__ import annotations

from django.apps import AppConfig


class SurflySandboxConfig(AppConfig):
    name = "vendors.surfly.sandbox"
    label = "surfly_sandbox"
    verbose_name = "Surfly sandbox"
