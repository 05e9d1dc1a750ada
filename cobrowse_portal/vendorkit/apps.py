from __future__ import annotations

from django.apps import AppConfig


class VendorkitConfig(AppConfig):
    name = "cobrowse_portal.vendorkit"
    label = "vendorkit"
    verbose_name = "Vendor plumbing"
