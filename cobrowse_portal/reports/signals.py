"""Keep each report definition's beat entry in step with it."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cobrowse_portal.core.models import Workspace

from .models import ReportDefinition
from .schedules import remove_schedule, sync_schedule


@receiver(post_save, sender=ReportDefinition)
def _definition_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        sync_schedule(instance)


@receiver(post_delete, sender=ReportDefinition)
def _definition_deleted(sender, instance, **kwargs) -> None:
    remove_schedule(instance.pk)


@receiver(post_save, sender=Workspace)
def _workspace_saved(sender, instance, raw=False, created=False, **kwargs) -> None:
    """A changed time zone (or an archived workspace) moves its reports' entries."""
    if raw or created:
        return
    for definition in ReportDefinition.objects.filter(workspace=instance):
        definition.workspace = instance
        sync_schedule(definition)
