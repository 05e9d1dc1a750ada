"""Surfly pages. They read the local database only; the explicit POST actions
(and the screenshot action) call Surfly through `services.py`."""

from __future__ import annotations

from django.db.models import Count, Q

from cobrowse_portal.core.urlcache import url_for

from ..models import CobrowseSession, SurflyAgent


def dashboard_figures(account) -> list[dict]:
    # Counted on the partial index of live rows (the live page's own rows).
    live = CobrowseSession.objects.filter(
        account=account, is_active=True, removed_at__isnull=True
    ).count()
    agents = SurflyAgent.objects.filter(
        account=account, removed_at__isnull=True
    ).aggregate(total=Count("pk"), free=Count("pk", filter=Q(is_free=True)))
    return [
        {
            "label": "Live sessions",
            "value": live,
            "url": url_for("surfly:live", account_id=account.pk),
        },
        {
            "label": "Agents free",
            "value": f"{agents['free']} of {agents['total']}",
            "url": url_for("surfly:agents", account_id=account.pk),
        },
    ]
