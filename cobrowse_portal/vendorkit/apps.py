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

        from cobrowse_portal.core.signals import sweeping

        # Connected before the alerts app's receiver (INSTALLED_APPS order), so
        # the rate-budget rule sees the minute flushed by the same sweep.
        sweeping.connect(_sweep, dispatch_uid="vendorkit.ratebudget")


def _sweep(sender, now, **kwargs) -> str:
    import logging

    from .ratebudget import sweep

    try:
        return sweep(now)
    except Exception:
        # The budget's figures must never stop the sweeper's other work.
        logging.getLogger("cobrowse.vendorkit").exception("rate budget flush")
        return "rate budget: flush failed (logged)"
