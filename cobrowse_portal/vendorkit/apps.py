from __future__ import annotations

from django.apps import AppConfig


class VendorkitConfig(AppConfig):
    name = "cobrowse_portal.vendorkit"
    label = "vendorkit"
    verbose_name = "Vendor plumbing"

    def ready(self) -> None:
        from .redaction import install_record_factory

        install_record_factory()
