"""Helpers shared by the SameSurf views."""

from __future__ import annotations

from django.http import Http404

from cobrowse_portal.core.permissions import account_for, has_role


def samesurf_account(request, account_id: int):
    return account_for(request, account_id, vendor="samesurf")


def reseller_account(request, account_id: int):
    """Reseller pages exist only for reseller workspaces."""
    if not request.workspace.is_reseller:
        raise Http404("reseller pages are for reseller workspaces")
    return samesurf_account(request, account_id)


def page_context(request, account, **extra) -> dict:
    return {
        "account": account,
        "can_manage": has_role(request, "manager"),
        **extra,
    }
