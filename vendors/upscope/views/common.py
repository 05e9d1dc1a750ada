"""Helpers shared by the Upscope views."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from cobrowse_portal.core.permissions import account_for, has_role

from ..models import UpscopeSession, UpscopeVisitor

#: What every stop says: Upscope answers ok whether or not a session ran.
STOP_REQUESTED = (
    "Stop requested; Upscope does not confirm whether a session was running. "
    "The session shows as ended once Upscope reports its end (its session-end "
    "post, the next sessions pull, or “Refresh from Upscope”)."
)


def upscope_account(request, account_id: int):
    return account_for(request, account_id, vendor="upscope")


def visitors(account):
    return UpscopeVisitor.objects.filter(account=account, removed_at__isnull=True)


def sessions(account):
    return UpscopeSession.objects.filter(account=account, removed_at__isnull=True)


def visitor_or_404(account, pk: int) -> UpscopeVisitor:
    return get_object_or_404(visitors(account), pk=pk)


def page_context(request, account, **extra) -> dict:
    return {
        "account": account,
        "can_manage": has_role(request, "manager"),
        "is_admin": has_role(request, "admin"),
        **extra,
    }
