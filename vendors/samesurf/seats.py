"""SameSurf's paid seats per client workspace, for the reseller's Seats page."""

from __future__ import annotations

from django.db.models import Sum

from .models import SameSurfSubscription


def seat_licences(reseller_workspace, client_workspace_ids) -> dict[int, dict]:
    """The licence count of the client subscriptions the reseller's SameSurf
    accounts hold (`reseller/createsubscription`'s `licensecount`), summed per
    client workspace they are linked to, in one query. Subscriptions gone at
    SameSurf (the subscriptions stream found their key rejected) are left out."""
    rows = (
        SameSurfSubscription.objects.filter(
            account__workspace=reseller_workspace,
            client_workspace_id__in=list(client_workspace_ids),
            removed_at__isnull=True,
        )
        .order_by()
        .values("client_workspace_id")
        .annotate(n=Sum("license_count"))
        .values_list("client_workspace_id", "n")
    )
    return {ws: {"licences": n} for ws, n in rows}
