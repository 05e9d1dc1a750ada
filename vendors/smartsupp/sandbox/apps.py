from __future__ import annotations

from django.apps import AppConfig


class SmartsuppSandboxConfig(AppConfig):
    name = "vendors.smartsupp.sandbox"
    label = "smartsupp_sandbox"
    verbose_name = "Smartsupp sandbox"
