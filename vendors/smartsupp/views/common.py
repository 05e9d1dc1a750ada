"""Helpers shared by the Smartsupp views: the account checks, the Smartsupp
account picker (Users, Triggers and Office hours are per Smartsupp account) and
the page context."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from cobrowse_portal.core.permissions import account_for, has_role
from cobrowse_portal.core.writes import overlay

from ..models import SmartsuppAccount, SmartsuppTrigger, SmartsuppUser

#: The query parameter naming the picked Smartsupp account (its portal pk).
PICK = "sa"


def smartsupp_account(request, account_id: int):
    """The portal's VendorAccount (a partner apiKey) of this workspace."""
    return account_for(request, account_id, vendor="smartsupp")


def reseller_account(request, account_id: int):
    """Provisioning accounts is for reseller workspaces only."""
    if not request.workspace.is_reseller:
        raise Http404("reseller pages are for reseller workspaces")
    return smartsupp_account(request, account_id)


def accounts_of(account):
    return SmartsuppAccount.objects.filter(
        account=account, removed_at__isnull=True
    ).order_by("title", "id")


def users_of(account, sa):
    return SmartsuppUser.objects.filter(
        account=account, smartsupp_account=sa, removed_at__isnull=True
    ).select_related("smartsupp_account")


def triggers_of(account, sa):
    return SmartsuppTrigger.objects.filter(
        account=account, smartsupp_account=sa, removed_at__isnull=True
    ).select_related("smartsupp_account")


def child(model, account, pk: int):
    """One user or trigger (`model`) of this portal account whose Smartsupp
    account is not removed; a 404 otherwise."""
    return get_object_or_404(
        model.objects.filter(account=account, removed_at__isnull=True).select_related(
            "smartsupp_account"
        ),
        pk=pk,
        smartsupp_account__removed_at__isnull=True,
    )


def children(model, account, sa, *order: str) -> list:
    """The users or triggers of Smartsupp account `sa`, with kept writes shown."""
    return overlay(
        account,
        model.objects.filter(
            account=account, smartsupp_account=sa, removed_at__isnull=True
        )
        .defer("raw", "fingerprint")
        .order_by(*order),
    )


def list_url(name: str, account, sa) -> str:
    """A per-Smartsupp-account list page (`name`), with `sa` picked."""
    return reverse(name, kwargs={"account_id": account.pk}) + (
        f"?{PICK}={sa.pk}" if sa is not None else ""
    )


def picked(request, account) -> tuple[list[SmartsuppAccount], SmartsuppAccount | None]:
    """The portal account's Smartsupp accounts and the one picked (`?sa=`, in
    the query or the form; the first by title by default). A pk that is not one
    of this account's is a 404, never another reseller's account."""
    accounts = list(accounts_of(account).only("pk", "title", "external_id"))
    raw = request.POST.get(PICK) or request.GET.get(PICK)
    if not raw:
        return accounts, accounts[0] if accounts else None
    try:
        pk = int(raw)
    except ValueError:
        raise Http404("no such Smartsupp account") from None
    for sa in accounts:
        if sa.pk == pk:
            return accounts, get_object_or_404(accounts_of(account), pk=pk)
    raise Http404("no such Smartsupp account")


def page_context(request, account, **extra) -> dict:
    return {
        "account": account,
        "can_manage": has_role(request, "manager"),
        "is_reseller": request.workspace.is_reseller,
        **extra,
    }
