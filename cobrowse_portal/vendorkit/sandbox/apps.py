from __future__ import annotations

from django.apps import AppConfig


class SandboxFrameworkConfig(AppConfig):
    name = "cobrowse_portal.vendorkit.sandbox"
    label = "sandbox"
    verbose_name = "Vendor sandboxes"
