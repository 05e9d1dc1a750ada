"""SameSurf pages. They read the local database only; the explicit POST actions
(start or schedule a room, tokens, a recording's link, a room's analytics,
subscriptions) call SameSurf through `services.py`."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery

from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.urlcache import url_for

from ..models import SameSurfRoom, SameSurfUsage


def dashboard_figures(accounts) -> dict[int, list[dict]]:
    """Running rooms and the newest usage snapshot's rooms today of every
    account, in one query (a subquery per figure)."""
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
    rows = (
        VendorAccount.objects.filter(pk__in=[a.pk for a in accounts])
        .order_by()
        .values_list("pk")
        .annotate(
            running=Subquery(running),
            today=Subquery(latest.values("rooms_today")[:1]),
        )
    )
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
