"""Helpers shared by the Surfly views."""

from __future__ import annotations

from django.http import Http404

from cobrowse_portal.core.permissions import account_for, has_role

from ..models import SurflyAgent


def surfly_account(request, account_id: int):
    return account_for(request, account_id, vendor="surfly")


def reseller_account(request, account_id: int):
    """Reseller pages exist only for reseller workspaces."""
    if not request.workspace.is_reseller:
        raise Http404("reseller pages are for reseller workspaces")
    return surfly_account(request, account_id)


def local_agents(account):
    return list(
        SurflyAgent.objects.filter(account=account, removed_at__isnull=True).order_by(
            "name", "pk"
        )
    )


def agent_names(account) -> dict[str, str]:
    return {
        a.external_id: str(a)
        for a in SurflyAgent.objects.filter(account=account).only(
            "external_id", "name", "email"
        )
    }


def page_context(request, account, **extra) -> dict:
    return {
        "account": account,
        "can_manage": has_role(request, "manager"),
        **extra,
    }
