"""Surfly pages. They read the local database only; the explicit POST actions
(and the screenshot action) call Surfly through `services.py`."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, Subquery

from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.prepared import prepared_rows
from cobrowse_portal.core.urlcache import url_for

from ..models import CobrowseSession, SurflyAgent


def _figures_query(pks: list[int]):
    live = (
        # Counted on the partial index of live rows (the live page's own rows).
        CobrowseSession.objects.filter(
            account=OuterRef("pk"), is_active=True, removed_at__isnull=True
        )
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    agents = (
        SurflyAgent.objects.filter(account=OuterRef("pk"), removed_at__isnull=True)
        .order_by()
        .values("account")
    )
    return (
        VendorAccount.objects.filter(pk__in=pks)
        .order_by()
        .values_list("pk")
        .annotate(
            live=Subquery(live),
            total=Subquery(agents.annotate(n=Count("pk")).values("n")),
            free=Subquery(
                agents.annotate(n=Count("pk", filter=Q(is_free=True))).values("n")
            ),
        )
    )


def dashboard_figures(accounts) -> dict[int, list[dict]]:
    """Live sessions and free agents of every account, in one query (a subquery
    per figure, each reading its account's rows only; its SQL written once)."""
    pks = [a.pk for a in accounts]
    rows = prepared_rows("surfly.figures", VendorAccount, _figures_query, pks)
    out = {}
    for pk, live, total, free in rows:
        out[pk] = [
            {
                "label": "Live sessions",
                "value": live or 0,
                "url": url_for("surfly:live", account_id=pk),
            },
            {
                "label": "Agents free",
                "value": f"{free or 0} of {total or 0}",
                "url": url_for("surfly:agents", account_id=pk),
            },
        ]
    return out
