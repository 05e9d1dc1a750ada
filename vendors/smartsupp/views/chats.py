"""Finished chats from Smartsupp's POST hook: the list (keyset pages; filters by
Smartsupp account, outcome and visitor e-mail) and a chat's transcript (the
page the activity index links to: `smartsupp:chat`, account_id + pk)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.pagination import keyset_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.urlcache import url_pattern

from ..forms import ChatFilterForm
from ..models import SmartsuppAccount, SmartsuppChat
from .common import accounts_of, page_context, smartsupp_account

PAGE = 50


def chats_of(account):
    return SmartsuppChat.objects.filter(account=account, removed_at__isnull=True)


def _page(qs, params):
    try:
        return keyset_page(qs, params, "begin_at", size=PAGE)
    except (ValidationError, ValueError, TypeError, OverflowError):
        params = params.copy()
        params.pop("after", None)
        return keyset_page(qs, params, "begin_at", size=PAGE)


@role_required(Role.AGENT)
def chat_list(request, account_id: int):
    account = smartsupp_account(request, account_id)
    accounts = list(accounts_of(account).only("pk", "title", "external_id"))
    form = ChatFilterForm(request.GET or None, accounts=accounts)
    qs = chats_of(account).defer(*SmartsuppChat.LIST_DEFER)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["smartsupp_account"]:
            qs = qs.filter(smartsupp_account_id=data["smartsupp_account"])
        if data["status"] == "missed":
            qs = qs.filter(is_missed=True)
        elif data["status"] == "offline":
            qs = qs.filter(is_offline=True)
        elif data["status"] == "served":
            qs = qs.filter(is_missed=False, is_offline=False)
        if data["visitor"].strip():
            qs = qs.filter(visitor_email=data["visitor"].strip())
    page = _page(qs, request.GET)
    pattern = url_pattern("smartsupp:chat", "account_id", "pk")
    titles = {a.external_id: str(a) for a in accounts}
    for row in page.rows:
        row.detail_url = pattern.format(account_id=account.pk, pk=row.pk)
        row.account_title = titles.get(
            row.smartsupp_account_id, row.smartsupp_account_id
        )
    return render_page(
        request,
        "smartsupp/chats.html",
        page_context(
            request,
            account,
            form=form,
            page=page,
            has_any=bool(page.rows) or chats_of(account).exists(),
        ),
        partial="results",
    )


@role_required(Role.AGENT)
def chat_detail(request, account_id: int, pk: int):
    account = smartsupp_account(request, account_id)
    chat = get_object_or_404(chats_of(account), pk=pk)
    sa = SmartsuppAccount.objects.filter(
        account=account, external_id=chat.smartsupp_account_id
    ).first()
    return render_page(
        request,
        "smartsupp/chat_detail.html",
        page_context(
            request,
            account,
            chat=chat,
            sa=sa,
            chat_messages=list(chat.messages.order_by("position")),
        ),
    )
