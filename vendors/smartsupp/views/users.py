"""Users of a Smartsupp account (the account picker on top): list, add (the
password is sent once and never stored or shown again), edit role and names,
reload from Smartsupp, delete behind a confirmation page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.debug import sensitive_post_parameters
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
from cobrowse_portal.core.writes import intended
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import ConfirmDeleteForm, UserCreateForm, UserEditForm
from ..models import SmartsuppUser
from .common import (
    child,
    children,
    list_url,
    page_context,
    picked,
    smartsupp_account,
)


def _user(account, pk: int) -> SmartsuppUser:
    return child(SmartsuppUser, account, pk)


def _list_url(account, sa) -> str:
    return list_url("smartsupp:users", account, sa)


@role_required(Role.MANAGER)
def users(request, account_id: int):
    account = smartsupp_account(request, account_id)
    accounts, sa = picked(request, account)
    rows = []
    if sa is not None:
        rows = children(SmartsuppUser, account, sa, "fullname", "id")
    return render_page(
        request,
        "smartsupp/users.html",
        page_context(request, account, accounts=accounts, sa=sa, users=rows),
    )


@sensitive_post_parameters("password")
@role_required(Role.MANAGER)
def user_add(request, account_id: int):
    account = smartsupp_account(request, account_id)
    accounts, sa = picked(request, account)
    if sa is None:
        messages.error(request, "There is no Smartsupp account to add a user to yet.")
        return redirect("smartsupp:users", account_id=account.pk)
    form = UserCreateForm(request.POST or None, vendor_label=account.spec.label)
    response, status = submit(
        request,
        form,
        lambda data: services.create_user(account, sa, **data),
        lambda user: success(
            request,
            f"{user} added to {sa} at Smartsupp.",
            _list_url(account, sa),
        ),
    )
    return response or render_page(
        request,
        "smartsupp/user_form.html",
        page_context(request, account, accounts=accounts, sa=sa, form=form),
        status=status,
    )


@role_required(Role.MANAGER)
def user_edit(request, account_id: int, pk: int):
    account = smartsupp_account(request, account_id)
    user = intended(account, _user(account, pk))
    sa = user.smartsupp_account
    form = UserEditForm(
        request.POST or None,
        initial={
            "role": user.role,
            "fullname": user.fullname,
            "nickname": user.nickname,
        },
        vendor_label=account.spec.label,
    )
    response, status = submit_write(
        request,
        form,
        lambda data: Write(
            account,
            services.update_user,
            f"Update Smartsupp user {user}",
            user,
            {
                "role": data["role"],
                "fullname": data["fullname"],
                "nickname": data["nickname"],
            },
        ),
        lambda row: success(
            request, f"{row} saved at Smartsupp.", _list_url(account, sa)
        ),
        then=lambda: redirect(_list_url(account, sa)),
    )
    return response or render_page(
        request,
        "smartsupp/user_edit.html",
        page_context(request, account, sa=sa, user_row=user, form=form),
        status=status,
    )


@role_required(Role.MANAGER)
@require_POST
def user_refresh(request, account_id: int, pk: int):
    """Read the user back from Smartsupp (GET …/users/{uid}/get)."""
    account = smartsupp_account(request, account_id)
    user = _user(account, pk)
    try:
        user = services.load_user(account, user)
    except VendorError as exc:
        report_failure(request, exc, "reloaded", account.spec.label)
    else:
        messages.success(request, f"{user} reloaded from {account.spec.label}.")
    return redirect("smartsupp:user_edit", account_id=account.pk, pk=user.pk)


@role_required(Role.MANAGER)
def user_delete(request, account_id: int, pk: int):
    account = smartsupp_account(request, account_id)
    user = _user(account, pk)
    sa = user.smartsupp_account
    form = ConfirmDeleteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            write = Write(
                account, services.delete_user, f"Delete Smartsupp user {user}", user
            )
            done, answer = attempt(request, write, "deleted")
            if done:
                messages.success(request, f"{user}: {answer}.")
            return redirect(_list_url(account, sa))
        status = form_status()
    return render_page(
        request,
        "smartsupp/confirm_delete.html",
        page_context(
            request,
            account,
            form=form,
            title=f"Delete the user {user}",
            explain=f"Smartsupp deletes {user} ({user.email}) from {sa}: they can "
            "no longer sign in or chat. Their past chats stay.",
            back=_list_url(account, sa),
        ),
        status=status,
    )
