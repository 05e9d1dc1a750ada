"""Role checks: every portal view declares the least role it needs."""

from __future__ import annotations

import copy
from functools import lru_cache, wraps
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import Resolver404, get_urlconf, resolve

from .choices import ROLE_RANK, Role
from .models import VendorAccount


def has_role(request, minimum: str) -> bool:
    role = getattr(request, "role", None)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def may_open(request, url: str) -> bool:
    """Whether the current role passes the role check of the view behind `url`
    (a link to a page that would answer 403 is not worth showing)."""
    found, minimum = _min_role(urlsplit(url).path, get_urlconf())
    return found and (minimum is None or has_role(request, minimum))


@lru_cache(maxsize=4096)
def _min_role(path: str, urlconf) -> tuple[bool, str | None]:
    """Whether `path` resolves, and its view's least role: resolving walks the
    URLconf's patterns, and the dashboard asks for every figure's link (the
    URLconf is fixed once loaded, so the answer per path is too)."""
    try:
        view = resolve(path, urlconf).func
    except Resolver404:
        return False, None
    return True, getattr(view, "min_role", None)


def role_required(minimum: str = Role.AGENT):
    """Login, a current workspace, and at least `minimum` role in it."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.workspace is None:
                return render(request, "core/no_workspace.html", status=403)
            if not has_role(request, minimum):
                raise PermissionDenied(f"needs the {minimum} role")
            return view(request, *args, **kwargs)

        wrapped.min_role = minimum
        return wrapped

    return decorator


def reseller_required(view):
    """Only in a reseller workspace: anywhere else the page does not exist (a
    client workspace's admin gets 404, never its siblings'). Put it under
    `role_required`, which sets `request.workspace`."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.workspace is None or not request.workspace.is_reseller:
            raise Http404("only a reseller workspace has this page")
        return view(request, *args, **kwargs)

    wrapped.reseller_only = True
    return wrapped


def workspace_accounts(request) -> list[VendorAccount]:
    """Every account of the current workspace by (vendor, name), read once per
    request: the sidebar and the page's own account lookup share the one query."""
    accounts = getattr(request, "_workspace_accounts", None)
    if accounts is None:
        if request.workspace is None:
            return []
        accounts = list(request.workspace.accounts.order_by("vendor", "name", "pk"))
        request._workspace_accounts = accounts
    return accounts


def account_for(request, account_id: int, vendor: str | None = None) -> VendorAccount:
    """An account of the current workspace, or 404 (never another tenant's)."""
    for account in workspace_accounts(request):
        if account.pk == account_id and (not vendor or account.vendor == vendor):
            # A copy: a view may edit its account (a form that fails validation
            # included) while the sidebar shows what is stored.
            return copy.copy(account)
    raise Http404("No VendorAccount matches the given query.")
