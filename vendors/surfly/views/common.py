"""Helpers shared by the Surfly views."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from cobrowse_portal.core.permissions import account_for, has_role

from ..models import SurflyAgent

#: Status of a re-rendered form: refused input, or Surfly unreachable.
INVALID, UNAVAILABLE = 422, 503


def surfly_account(request, account_id: int):
    return account_for(request, account_id, vendor="surfly")


def reseller_account(request, account_id: int):
    """Reseller pages exist only for reseller workspaces."""
    if not request.workspace.is_reseller:
        raise Http404("reseller pages are for reseller workspaces")
    return surfly_account(request, account_id)


def form_status(form, exc=None) -> int:
    return UNAVAILABLE if exc is not None and exc.transient else INVALID


def report_failure(request, exc, action: str) -> None:
    """A failed one-click action (no form to keep): say so in Surfly's words."""
    if exc.transient:
        messages.error(
            request,
            f"Surfly is not answering right now, so nothing was {action}; "
            "try again in a moment.",
        )
    else:
        messages.error(request, f"Surfly refused: {exc.user_message()}")


def back_to(request, default: str):
    """Redirect to a same-site `next` value, else `default`."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


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
