"""Re-encrypt every stored credential under the first key of ENCRYPTION_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from cobrowse_portal.core import crypto
from cobrowse_portal.core.models import VendorAccount


class Command(BaseCommand):
    help = "Re-encrypt all vendor credentials with the newest key (key rotation)."

    def handle(self, *args, **opts):
        count = 0
        with transaction.atomic():
            for account in VendorAccount.objects.select_for_update().exclude(
                credentials_encrypted=""
            ):
                account.credentials_encrypted = crypto.rotate(
                    account.credentials_encrypted
                )
                account.save(update_fields=["credentials_encrypted"])
                count += 1
        self.stdout.write(f"re-encrypted {count} accounts with the first key")
