"""Template context for the shell: sidebar from the registry, workspace switcher."""

from __future__ import annotations

from django.urls import NoReverseMatch

from cobrowse_portal.vendorkit import registry

from .choices import ROLE_RANK
from .models import workspaces_for
from .permissions import workspace_accounts
from .urlcache import url_for


def portal(request) -> dict:
    user = getattr(request, "user", None)
    workspace = getattr(request, "workspace", None)
    if not user or not user.is_authenticated or workspace is None:
        return {}
    role = request.role
    rank = ROLE_RANK.get(role, 0)
    vendor_nav = []
    # No query of its own on account pages: the view already read the accounts.
    accounts = [a for a in workspace_accounts(request) if a.enabled]
    for spec in registry.all_vendors():
        items = []
        for account in (a for a in accounts if a.vendor == spec.slug):
            links = []
            for item in spec.nav:
                if ROLE_RANK[item.min_role] > rank:
                    continue
                if item.reseller_only and not workspace.is_reseller:
                    continue
                try:
                    url = url_for(item.url_name, account_id=account.pk)
                except NoReverseMatch:
                    continue
                links.append({"label": item.label, "url": url})
            items.append({"account": account, "links": links})
        if items:
            vendor_nav.append({"spec": spec, "accounts": items})
    return {
        "nav_vendors": vendor_nav,
        "nav_workspaces": getattr(request, "open_workspaces", None)
        or workspaces_for(user).order_by("name"),
        "role_rank": rank,
    }
