"""SameSurf pages. They read the local database only; the explicit POST actions
(start or schedule a room, tokens, a recording's link, a room's analytics,
subscriptions) call SameSurf through `services.py`."""

from __future__ import annotations

from cobrowse_portal.core.urlcache import url_for

from ..models import SameSurfRoom, SameSurfUsage


def dashboard_figures(account) -> list[dict]:
    running = SameSurfRoom.objects.filter(
        account=account, is_running=True, removed_at__isnull=True
    ).count()
    latest = (
        SameSurfUsage.objects.filter(account=account, removed_at__isnull=True)
        .order_by("-taken_at")
        .only("rooms_today")
        .first()
    )
    return [
        {
            "label": "Running rooms",
            "value": running,
            "url": url_for("samesurf:running", account_id=account.pk),
        },
        {
            "label": "Rooms today",
            "value": latest.rooms_today
            if latest and latest.rooms_today is not None
            else "—",
            "url": url_for("samesurf:analytics", account_id=account.pk),
        },
    ]
