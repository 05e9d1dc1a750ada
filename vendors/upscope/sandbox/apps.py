from __future__ import annotations

from django.apps import AppConfig


class UpscopeSandboxConfig(AppConfig):
    name = "vendors.upscope.sandbox"
    label = "upscope_sandbox"
    verbose_name = "Upscope sandbox"
