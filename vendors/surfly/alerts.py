"""Surfly's own alert checks (`VendorSpec.alert_checks`)."""

from __future__ import annotations

from .models import SurflyWebhook


def switched_off_webhooks(accounts) -> list[dict]:
    """Webhooks Surfly switched off (after failed deliveries, as its docs say):
    disabled, not by the portal, still listed. One query for all `accounts`; the
    `webhooks` stream refreshes the rows, so re-enabling one clears the alert."""
    by_pk = {a.pk: a for a in accounts}
    rows = SurflyWebhook.objects.filter(
        account_id__in=by_pk,
        enabled=False,
        disabled_by_portal=False,
        removed_at__isnull=True,
    ).order_by("pk")
    return [
        {
            "key": f"webhook:{hook.pk}",
            "subject": f"{by_pk[hook.account_id]} · webhook {hook.category}",
            "message": f"Surfly switched off the {hook.category} webhook to "
            f"{hook.url} (usually after failed deliveries): its events are not "
            "sent until it is enabled again on the account's Webhooks page.",
            "account_id": hook.account_id,
        }
        for hook in rows
    ]
