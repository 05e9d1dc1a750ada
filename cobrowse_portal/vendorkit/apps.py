from __future__ import annotations

from django.apps import AppConfig


class VendorkitConfig(AppConfig):
    name = "cobrowse_portal.vendorkit"
    label = "vendorkit"
    verbose_name = "Vendor plumbing"

    def ready(self) -> None:
        from .redaction import install_record_factory, register_secret_path
        from .webhooks import ROUTE

        install_record_factory()
        register_secret_path(ROUTE)
