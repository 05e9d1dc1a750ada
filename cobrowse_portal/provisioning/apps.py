from __future__ import annotations

from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "cobrowse_portal.provisioning"
    label = "provisioning"
    verbose_name = "Provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cobrowse_portal.core.signals import sweeping

        sweeping.connect(_sweep, dispatch_uid="provisioning.sweep")


def _sweep(sender, now, **kwargs) -> str:
    from .engine import sweep

    queued, failed = sweep(now)
    return f"provisioning: re-queued {queued} steps, failed {failed} dead steps"
