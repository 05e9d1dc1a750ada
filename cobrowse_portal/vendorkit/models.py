"""The abstract base every vendor model inherits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models, router, transaction

#: Rows whose index update waits for the end of a `deferred_index()` block:
#: {(model, account pk): (account, {external ids})}.
_deferred: ContextVar[dict | None] = ContextVar(
    "vendorkit_deferred_index", default=None
)


@contextmanager
def deferred_index() -> Iterator[None]:
    """Within it, `save()` of an activity or agent source notes the row instead of
    re-indexing it at once, and the block's end brings the index in step for all
    noted rows: one bulk call per (model, account) instead of one per save.

    Use it inside the transaction that saves the rows (the webhook drain applies
    100 events per commit), so the index is still written in the same
    transaction. The index reads the stored rows, so a row whose savepoint was
    rolled back is indexed as it is stored."""
    if _deferred.get() is not None:  # nested: the outer block flushes
        yield
        return
    pending: dict = {}
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    from . import activity

    for (model, _), (account, external_ids) in pending.items():
        activity.index_rows(model, account, sorted(external_ids))


def index_later(model, account, external_ids) -> None:
    """Bring the index in step with these stored rows of `model` (written by the
    caller, in its transaction): at the end of the enclosing `deferred_index()`
    block, or now outside one."""
    from . import activity

    if not activity.has_sources(model):
        return
    pending = _deferred.get()
    if pending is not None:
        pending.setdefault((model, account.pk), (account, set()))[1].update(
            external_ids
        )
        return
    activity.index_rows(model, account, list(external_ids))


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

    def save(self, *args, **kwargs):
        """Save, and (for a model a vendor declared as an activity or agent source)
        bring the control room's index in step, in the same transaction: the
        single-row path of webhooks and edits."""
        from . import activity

        if not activity.has_sources(type(self)):
            return super().save(*args, **kwargs)
        if _deferred.get() is not None:
            super().save(*args, **kwargs)
            index_later(type(self), self.account, [self.external_id])
            return None
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)
            activity.index_rows(type(self), self.account, [self.external_id])

    def delete(self, *args, **kwargs):
        from . import activity

        if not activity.has_sources(type(self)):
            return super().delete(*args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            account, external_id = self.account, self.external_id
            result = super().delete(*args, **kwargs)
            activity.forget_rows(type(self), account, [external_id])
        return result

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


class RateBudgetMinute(models.Model):
    """What one vendor host's shared request budget saw in one minute, flushed
    from the cache counters (`vendorkit.ratelimit.record`) by the minute sweep
    (`vendorkit.ratebudget.flush`) and kept 14 days. `host` is the bucket key,
    "vendor:host[:port]": limits are per egress address, so per host, not per
    account."""

    host = models.CharField(max_length=200)
    minute = models.DateTimeField(help_text="The minute's start (UTC).")
    requests = models.PositiveIntegerField(default=0, help_text="Requests sent.")
    waited = models.PositiveIntegerField(
        default=0, help_text="Calls that had to wait for a token."
    )
    wait_ms = models.PositiveBigIntegerField(
        default=0, help_text="Milliseconds those calls waited in all."
    )
    throttled = models.PositiveIntegerField(
        default=0, help_text="429 answers from the vendor."
    )
    refused = models.PositiveIntegerField(
        default=0, help_text="Calls refused because the shared budget stayed empty."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host", "minute"], name="vendorkit_ratebudget_host_minute"
            )
        ]
        indexes = [models.Index(fields=["minute"], name="vendorkit_ratebudget_minute")]

    def __str__(self) -> str:
        return f"{self.host} {self.minute:%Y-%m-%d %H:%M}"
