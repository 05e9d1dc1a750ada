"""Reseller accounts: the list with each account's chat code to copy, create
(optionally with a client workspace), edit, reload from Smartsupp, and delete
behind a confirmation page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.vendorforms import (
    Write,
    attempt,
    form_status,
    report_failure,
    submit,
    submit_write,
    success,
)
from cobrowse_portal.core.writes import overlay
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import AccountCreateForm, AccountEditForm, ConfirmDeleteForm
from .common import accounts_of, page_context, reseller_account


@role_required(Role.MANAGER)
def accounts(request, account_id: int):
    account = reseller_account(request, account_id)
    rows = list(
        accounts_of(account)
        .select_related("client_workspace")
        .defer("raw", "fingerprint")
    )
    return render_page(
        request,
        "smartsupp/accounts.html",
        page_context(request, account, accounts=overlay(account, rows)),
    )


@role_required(Role.MANAGER)
def account_add(request, account_id: int):
    account = reseller_account(request, account_id)
    form = AccountCreateForm(request.POST or None, vendor_label=account.spec.label)

    def created(result):
        text = f"Account {result.smartsupp_account} created at Smartsupp."
        if result.workspace is not None:
            text += f" Client workspace “{result.workspace}” was created for it."
        return success(
            request,
            text,
            "smartsupp:account_edit",
            account_id=account.pk,
            pk=result.smartsupp_account.pk,
        )

    response, status = submit(
        request,
        form,
        lambda data: services.create_account(account, **data, parent=request.workspace),
        created,
    )
    return response or render_page(
        request,
        "smartsupp/account_form.html",
        page_context(request, account, form=form),
        status=status,
    )


@role_required(Role.MANAGER)
def account_edit(request, account_id: int, pk: int):
    """The account's page (its chat code, users and triggers counts); a POST
    saves title and language at Smartsupp."""
    account = reseller_account(request, account_id)
    sa = get_object_or_404(accounts_of(account), pk=pk)
    shown = overlay(account, [sa])[0]
    form = AccountEditForm(
        request.POST or None,
        initial={"title": shown.title, "lang": shown.lang},
        vendor_label=account.spec.label,
    )
    response, status = submit_write(
        request,
        form,
        lambda data: Write(
            account,
            services.update_account,
            f"Update Smartsupp account {sa}",
            sa,
            {"title": data["title"], "lang": data["lang"]},
        ),
        lambda row: success(
            request,
            f"Account {row} saved at Smartsupp.",
            "smartsupp:account_edit",
            account_id=account.pk,
            pk=sa.pk,
        ),
        then=lambda: redirect(
            "smartsupp:account_edit", account_id=account.pk, pk=sa.pk
        ),
    )
    return response or render_page(
        request,
        "smartsupp/account_detail.html",
        page_context(
            request,
            account,
            sa=shown,
            form=form,
            users=sa.users.filter(removed_at__isnull=True).count(),
            triggers=sa.triggers.filter(removed_at__isnull=True).count(),
        ),
        status=status,
    )


@role_required(Role.MANAGER)
@require_POST
def account_refresh(request, account_id: int, pk: int):
    """Read the account back from Smartsupp (GET accounts/{aid}/get)."""
    account = reseller_account(request, account_id)
    sa = get_object_or_404(accounts_of(account), pk=pk)
    try:
        sa = services.load_account(account, sa)
    except VendorError as exc:
        report_failure(request, exc, "reloaded", account.spec.label)
    else:
        messages.success(request, f"{sa} reloaded from {account.spec.label}.")
    return redirect("smartsupp:account_edit", account_id=account.pk, pk=sa.pk)


@role_required(Role.MANAGER)
def account_delete(request, account_id: int, pk: int):
    """GET: the confirmation page; POST (confirmed): delete at Smartsupp. A
    client workspace made for the account is kept or archived as chosen."""
    from cobrowse_portal.core.models import archive_workspace

    account = reseller_account(request, account_id)
    sa = get_object_or_404(
        accounts_of(account).select_related("client_workspace"), pk=pk
    )
    workspace = sa.client_workspace
    if workspace is not None and workspace.archived_at is not None:
        workspace = None
    form = ConfirmDeleteForm(request.POST or None)
    status = 200
    choice = request.POST.get("workspace", "")
    if request.method == "POST":
        if workspace is not None and choice not in ("archive", "keep"):
            form.is_valid()
            form.add_error(None, f"Choose what becomes of the workspace {workspace}.")
            status = form_status()
        elif not form.is_valid():
            status = form_status()
        else:
            write = Write(
                account, services.delete_account, f"Delete Smartsupp account {sa}", sa
            )
            done, answer = attempt(request, write, "deleted")
            if done:
                messages.success(request, f"{sa}: {answer}.")
                if workspace is not None and choice == "archive":
                    archive_workspace(workspace)
                    messages.info(request, f"Client workspace {workspace} archived.")
            return redirect("smartsupp:accounts", account_id=account.pk)
    return render_page(
        request,
        "smartsupp/confirm_delete.html",
        page_context(
            request,
            account,
            form=form,
            title=f"Delete the account {sa}",
            explain="Smartsupp deletes the account with its users, triggers, "
            "office hours and chat history; its chat code stops working on every "
            "site that has it. The portal keeps the finished chats it received.",
            workspace=workspace,
            back=reverse(
                "smartsupp:account_edit", kwargs={"account_id": account.pk, "pk": sa.pk}
            ),
        ),
        status=status,
    )
