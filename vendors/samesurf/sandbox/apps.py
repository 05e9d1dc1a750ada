from __future__ import annotations

from django.apps import AppConfig


class SameSurfSandboxConfig(AppConfig):
    name = "vendors.samesurf.sandbox"
    label = "samesurf_sandbox"
    verbose_name = "SameSurf sandbox"
