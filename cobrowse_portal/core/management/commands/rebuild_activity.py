"""Rebuild the control room's index from the vendor tables."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.vendorkit.activity import rebuild


class Command(BaseCommand):
    help = (
        "Recompute Activity, ActivityTag and VendorAgent from the vendor tables, then "
        "the daily usage rollups from Activity: rebuild_activity --account ID | --all"
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--account", type=int, action="append", dest="accounts")
        which.add_argument("--all", action="store_true")
        parser.add_argument(
            "--chunk-size", type=int, default=1000, help="vendor rows per batch"
        )

    def handle(self, accounts=None, all=False, chunk_size=1000, **opts):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        qs = VendorAccount.objects.select_related("workspace").order_by("pk")
        if not all:
            qs = qs.filter(pk__in=accounts)
            missing = set(accounts) - set(qs.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"no such account: {sorted(missing)}")
        for account in qs.iterator(chunk_size=100):
            counts = rebuild(account, chunk_size=chunk_size)
            if opts["verbosity"]:
                self.stdout.write(
                    f"{account.vendor} account {account.pk}: "
                    f"{counts['activities']} activities, {counts['agents']} agents, "
                    f"{counts['deleted']} stale rows deleted"
                )
