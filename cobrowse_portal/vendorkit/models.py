"""The abstract base every vendor model inherits."""

from __future__ import annotations

from django.db import models


class SyncedModel(models.Model):
    """A local copy of one vendor object, keyed by (account, external_id).

    `raw` keeps the vendor's last payload, `fingerprint` a hash of it (cheap change
    detection), and `removed_at` marks rows gone at the vendor (full listings only:
    history never disappears).
    """

    account = models.ForeignKey(
        "core.VendorAccount",
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
    )
    external_id = models.CharField(max_length=128)
    raw = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=40, blank=True, default="")
    synced_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"],
                name="%(app_label)s_%(class)s_account_external_id",
            )
        ]

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None
