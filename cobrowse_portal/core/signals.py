"""Keep beat schedules in step with vendor accounts."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from . import pagecache  # noqa: F401  (its receivers: the index's single-row edits)
from .models import VendorAccount
from .schedules import remove_schedules, sync_schedules

#: Sent by the sweeper (core.sweep, every minute) with `now`: an app with a
#: queue of its own re-queues what was lost and answers a short summary.
sweeping = Signal()

#: Sent (robustly: a receiver's error never fails the run) when a stream's run
#: has finished, with `run` (the SyncRun) and `account`: the alerts app
#: evaluates its rules then, without core importing it.
run_finished = Signal()


@receiver(post_save, sender=VendorAccount)
def _account_saved(sender, instance: VendorAccount, raw=False, **kwargs) -> None:
    if not raw:
        sync_schedules(instance)


@receiver(post_delete, sender=VendorAccount)
def _account_deleted(sender, instance: VendorAccount, **kwargs) -> None:
    remove_schedules(instance.pk)
