"""SameSurf pages. They read the local database only; the explicit POST actions
(start or schedule a room, tokens, a recording's link, a room's analytics,
subscriptions) call SameSurf through `services.py`."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery

from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.prepared import prepared_rows
from cobrowse_portal.core.urlcache import url_for

from ..models import SameSurfRoom, SameSurfUsage


def _figures_query(pks: list[int]):
    running = (
        SameSurfRoom.objects.filter(
            account=OuterRef("pk"), is_running=True, removed_at__isnull=True
        )
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    latest = SameSurfUsage.objects.filter(
        account=OuterRef("pk"), removed_at__isnull=True
    ).order_by("-taken_at")
    return (
        VendorAccount.objects.filter(pk__in=pks)
        .order_by()
        .values_list("pk")
        .annotate(
            running=Subquery(running),
            today=Subquery(latest.values("rooms_today")[:1]),
        )
    )


def dashboard_figures(accounts) -> dict[int, list[dict]]:
    """Running rooms and the newest usage snapshot's rooms today of every
    account, in one query (a subquery per figure; its SQL written once)."""
    pks = [a.pk for a in accounts]
    rows = prepared_rows("samesurf.figures", VendorAccount, _figures_query, pks)
    out = {}
    for pk, running_n, today in rows:
        out[pk] = [
            {
                "label": "Running rooms",
                "value": running_n or 0,
                "url": url_for("samesurf:running", account_id=pk),
            },
            {
                "label": "Rooms today",
                "value": today if today is not None else "—",
                "url": url_for("samesurf:analytics", account_id=pk),
            },
        ]
    return out
