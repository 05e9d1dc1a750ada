"""The dashboard cards' Serviceform figures (VendorSpec.dashboard_figures):
open chats and chats of the last 7 days of every account, from the local
database in one query (never a vendor call)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, OuterRef, Subquery
from django.urls import NoReverseMatch
from django.utils import timezone

from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.prepared import prepared_rows
from cobrowse_portal.core.urlcache import url_for

from .models import ChatStatus, ServiceformChat

#: The window of the "chats" figure.
RECENT = timedelta(days=7)


def _chats(**filters):
    return (
        ServiceformChat.objects.filter(
            account=OuterRef("pk"), removed_at__isnull=True, **filters
        )
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )


def _figures_query(values: list):
    since, *pks = values
    return (
        VendorAccount.objects.filter(pk__in=pks)
        .order_by()
        .values_list("pk")
        .annotate(
            # The open-chats partial index (sf_chat_open_idx) serves this one.
            open_n=Subquery(_chats(status=ChatStatus.OPEN)),
            recent=Subquery(_chats(started_at__gte=since)),
        )
    )


def _link(pk: int) -> str:
    try:
        return url_for("serviceform:chats", account_id=pk)
    except NoReverseMatch:  # a URLconf without the chats page
        return ""


def dashboard_figures(accounts) -> dict[int, list[dict]]:
    """{account pk: [open chats, chats in the last 7 days]}, one query."""
    pks = [a.pk for a in accounts]
    if not pks:
        return {}
    # The start of the current hour: the statement's values stay the same
    # within the hour.
    since = (timezone.now() - RECENT).replace(minute=0, second=0, microsecond=0)
    rows = prepared_rows(
        "serviceform.figures", VendorAccount, _figures_query, [since, *pks]
    )
    out = {}
    for pk, open_n, recent in rows:
        url = _link(pk)
        out[pk] = [
            {"label": "Open chats", "value": open_n or 0, "url": url},
            {"label": "Chats (7 days)", "value": recent or 0, "url": url},
        ]
    return out
