"""Seed a vendor sandbox deterministically: `sandbox_seed surfly --size 100`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from cobrowse_portal.vendorkit import registry


class Command(BaseCommand):
    help = "Seed one vendor sandbox (or all) with deterministic data."

    def add_arguments(self, parser):
        parser.add_argument("vendor", nargs="?", help="vendor slug; all when omitted")
        parser.add_argument("--size", type=int, default=200, help="history records")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--reset", action="store_true", help="wipe first")

    def handle(self, *args, vendor=None, size=200, seed=1, reset=False, **opts):
        specs = [registry.get(vendor)] if vendor else registry.all_vendors()
        for spec in specs:
            if not spec.sandbox_seed:
                raise CommandError(f"{spec.slug} has no sandbox seeder")
            summary = import_string(spec.sandbox_seed)(
                size=size, seed=seed, reset=reset
            )
            self.stdout.write(f"{spec.slug}: {summary}")
