"""Helpers shared by the Serviceform views."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from cobrowse_portal.core.pagination import keyset_page
from cobrowse_portal.core.permissions import account_for, has_role

#: Rows per page of the big lists (items, leads, chats).
PAGE = 50


def serviceform_account(request, account_id: int):
    return account_for(request, account_id, vendor="serviceform")


def page(qs, params, field: str):
    """A keyset page of `qs` newest `field` first (a bad cursor: from the top)."""
    try:
        return keyset_page(qs, params, field, size=PAGE)
    except (ValidationError, ValueError, TypeError, OverflowError):
        params = params.copy()
        params.pop("after", None)
        return keyset_page(qs, params, field, size=PAGE)


def page_context(request, account, **extra) -> dict:
    return {
        "account": account,
        "can_manage": has_role(request, "manager"),
        "is_admin": has_role(request, "admin"),
        **extra,
    }
