"""Re-encrypt every stored credential under the first key of ENCRYPTION_KEYS."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models, transaction

from cobrowse_portal.core import crypto
from cobrowse_portal.core.models import VendorAccount

#: Besides account credentials, a vendor model may keep a secret encrypted with
#: the same keys in a text column named `*_encrypted` (SameSurf's subscription
#: API keys): those are rotated too.
SUFFIX = "_encrypted"


def encrypted_columns() -> list[tuple[type[models.Model], str]]:
    out = []
    for model in apps.get_models():
        if model is VendorAccount:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.TextField) and field.name.endswith(SUFFIX):
                out.append((model, field.name))
    return out


class Command(BaseCommand):
    help = "Re-encrypt all vendor credentials with the newest key (key rotation)."

    def handle(self, *args, **opts):
        count = others = 0
        with transaction.atomic():
            for account in VendorAccount.objects.select_for_update().exclude(
                credentials_encrypted=""
            ):
                account.credentials_encrypted = crypto.rotate(
                    account.credentials_encrypted
                )
                account.save(update_fields=["credentials_encrypted"])
                count += 1
            for model, name in encrypted_columns():
                rows = model.objects.select_for_update().exclude(**{name: ""})
                for pk, token in rows.values_list("pk", name):
                    model.objects.filter(pk=pk).update(**{name: crypto.rotate(token)})
                    others += 1
        self.stdout.write(f"re-encrypted {count} accounts with the first key")
        if others:
            self.stdout.write(f"re-encrypted {others} other stored secrets")
