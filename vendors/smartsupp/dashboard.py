"""The dashboard card of Smartsupp accounts: accounts provisioned, their users
and today's finished chats, for all the workspace's Smartsupp accounts in one
query (a subquery per figure, each on its own account-first index)."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch
from django.utils import timezone

from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.urlcache import url_for

from .models import SmartsuppAccount, SmartsuppChat, SmartsuppUser


def _count(model, **filters):
    rows = (
        model.objects.filter(account=OuterRef("pk"), removed_at__isnull=True, **filters)
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _link(name: str, pk: int) -> str:
    try:
        return url_for(name, account_id=pk)
    except NoReverseMatch:  # the pages are not mounted (a URLconf without them)
        return ""


def dashboard_figures(accounts) -> dict[int, list[dict]]:
    """{account pk: [accounts, users, chats today]} (today: since the local
    midnight of the portal's time zone)."""
    pks = [a.pk for a in accounts]
    if not pks:
        return {}
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        VendorAccount.objects.filter(pk__in=pks)
        .order_by()
        .annotate(
            n_accounts=_count(SmartsuppAccount),
            n_users=_count(SmartsuppUser),
            n_chats=_count(SmartsuppChat, begin_at__gte=midnight),
        )
        .values_list("pk", "n_accounts", "n_users", "n_chats")
    )
    return {
        pk: [
            {
                "label": "Accounts",
                "value": n_accounts,
                "url": _link("smartsupp:accounts", pk),
            },
            {"label": "Users", "value": n_users, "url": _link("smartsupp:users", pk)},
            {
                "label": "Chats today",
                "value": n_chats,
                "url": _link("smartsupp:chats", pk),
            },
        ]
        for pk, n_accounts, n_users, n_chats in rows
    }
