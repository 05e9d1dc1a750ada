"""Switch fault injection for one sandbox account on or off."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults


class Command(BaseCommand):
    help = "Set fault rates (0..1) for a sandbox account, or --off to clear them."

    def add_arguments(self, parser):
        parser.add_argument("vendor")
        parser.add_argument("account_key")
        for name in ("rate_429", "rate_500", "rate_timeout", "rate_malformed"):
            parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=0)
        parser.add_argument("--delay-ms", type=int, default=0)
        parser.add_argument("--retry-after", type=int, default=1)
        parser.add_argument(
            "--drop-webhooks-every",
            type=int,
            default=0,
            help="drop every Nth webhook delivery of the account (0: none)",
        )
        parser.add_argument("--off", action="store_true")

    def handle(self, vendor, account_key, off=False, retry_after=1, **opts):
        if off:
            clear_faults(vendor, account_key)
            self.stdout.write("faults off")
            return
        keys = ("rate_429", "rate_500", "rate_timeout", "rate_malformed", "delay_ms")
        values = {k: opts[k] for k in keys}
        values["webhook_drop_every"] = max(0, opts["drop_webhooks_every"])
        set_faults(vendor, account_key, retry_after_seconds=retry_after, **values)
        self.stdout.write(f"faults set: {values}")
