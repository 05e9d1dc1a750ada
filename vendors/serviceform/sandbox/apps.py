from __future__ import annotations

from django.apps import AppConfig


class ServiceformSandboxConfig(AppConfig):
    name = "vendors.serviceform.sandbox"
    label = "serviceform_sandbox"
    verbose_name = "Serviceform sandbox"
