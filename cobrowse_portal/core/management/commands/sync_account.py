"""Run one account's streams inline, without Celery (debugging)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cobrowse_portal.core.choices import Trigger
from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.vendorkit.runs import execute_stream


class Command(BaseCommand):
    help = "Sync an account now, inline: manage.py sync_account ID [--stream NAME]"

    def add_arguments(self, parser):
        parser.add_argument("account_id", type=int)
        parser.add_argument("--stream", action="append")

    def handle(self, account_id, stream=None, **opts):
        account = VendorAccount.objects.get(pk=account_id)
        for name in stream or [s.name for s in account.spec.streams]:
            run = execute_stream(account.pk, name, trigger=Trigger.MANUAL)
            if run is None:
                self.stdout.write(f"{name}: skipped (disabled or needs attention)")
                continue
            self.stdout.write(
                f"{name}: {run.status} created={run.created} updated={run.updated} "
                f"removed={run.removed} unchanged={run.unchanged} pages={run.pages} "
                f"requests={run.requests} {run.error}"
            )
