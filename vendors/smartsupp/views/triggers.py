"""Triggers (auto-messages) of a Smartsupp account: list, the editor (event,
condition rows, message actions) to create and edit, activate / deactivate,
reload from Smartsupp, delete behind a confirmation page; and the weekly
office-hours editor."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
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
from cobrowse_portal.core.writes import intended
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import ConfirmDeleteForm, OfficeHoursForm, TriggerForm
from ..models import SmartsuppOfficeHours, SmartsuppTrigger
from .common import (
    PICK,
    child,
    children,
    list_url,
    page_context,
    picked,
    smartsupp_account,
)


def _trigger(account, pk: int) -> SmartsuppTrigger:
    return child(SmartsuppTrigger, account, pk)


def _list_url(account, sa) -> str:
    return list_url("smartsupp:triggers", account, sa)


@role_required(Role.MANAGER)
def triggers(request, account_id: int):
    account = smartsupp_account(request, account_id)
    accounts, sa = picked(request, account)
    rows = []
    if sa is not None:
        rows = children(SmartsuppTrigger, account, sa, "name", "id")
    return render_page(
        request,
        "smartsupp/triggers.html",
        page_context(request, account, accounts=accounts, sa=sa, triggers=rows),
    )


def _editor(request, account, sa, form, trigger=None, status=200):
    return render_page(
        request,
        "smartsupp/trigger_form.html",
        page_context(request, account, sa=sa, form=form, trigger=trigger),
        status=status,
    )


@role_required(Role.MANAGER)
def trigger_add(request, account_id: int):
    account = smartsupp_account(request, account_id)
    _accounts, sa = picked(request, account)
    if sa is None:
        messages.error(request, "There is no Smartsupp account to add a trigger to.")
        return redirect("smartsupp:triggers", account_id=account.pk)
    form = TriggerForm(request.POST or None, vendor_label=account.spec.label)
    response, status = submit(
        request,
        form,
        lambda _data: services.create_trigger(account, sa, **form.trigger_fields()),
        lambda row: success(
            request, f"Trigger {row} created at Smartsupp.", _list_url(account, sa)
        ),
    )
    return response or _editor(request, account, sa, form, status=status)


@role_required(Role.MANAGER)
def trigger_edit(request, account_id: int, pk: int):
    account = smartsupp_account(request, account_id)
    trigger = intended(account, _trigger(account, pk))
    sa = trigger.smartsupp_account
    form = TriggerForm(
        request.POST or None,
        trigger=trigger,
        initial={
            "name": trigger.name,
            "description": trigger.description,
            "event": trigger.event,
            "constraints": trigger.constraints or "all",
            "only_once": bool(trigger.only_once),
            "active": trigger.active,
        },
        vendor_label=account.spec.label,
    )
    response, status = submit_write(
        request,
        form,
        lambda _data: Write(
            account,
            services.update_trigger,
            f"Update Smartsupp trigger {trigger}",
            trigger,
            form.trigger_fields(),
        ),
        lambda row: success(
            request, f"Trigger {row} saved at Smartsupp.", _list_url(account, sa)
        ),
        then=lambda: redirect(_list_url(account, sa)),
    )
    return response or _editor(request, account, sa, form, trigger, status=status)


@role_required(Role.MANAGER)
@require_POST
def trigger_active(request, account_id: int, pk: int):
    """Activate (`active=1`) or deactivate (`active=0`) a trigger: an absolute
    value, so a kept write replays harmlessly."""
    account = smartsupp_account(request, account_id)
    trigger = _trigger(account, pk)
    active = request.POST.get("active") == "1"
    write = Write(
        account,
        services.set_trigger_active,
        f"{'Activate' if active else 'Deactivate'} Smartsupp trigger {trigger}",
        trigger,
        {"active": active},
    )
    done, row = attempt(request, write, "activated" if active else "deactivated")
    if done:
        messages.success(
            request, f"{row} is {'active' if row.active else 'inactive'} at Smartsupp."
        )
    return redirect(_list_url(account, trigger.smartsupp_account))


@role_required(Role.MANAGER)
@require_POST
def trigger_refresh(request, account_id: int, pk: int):
    """Read the trigger back from Smartsupp (GET …/triggers/{tid}/get)."""
    account = smartsupp_account(request, account_id)
    trigger = _trigger(account, pk)
    try:
        trigger = services.load_trigger(account, trigger)
    except VendorError as exc:
        report_failure(request, exc, "reloaded", account.spec.label)
    else:
        messages.success(request, f"{trigger} reloaded from {account.spec.label}.")
    return redirect("smartsupp:trigger_edit", account_id=account.pk, pk=trigger.pk)


@role_required(Role.MANAGER)
def trigger_delete(request, account_id: int, pk: int):
    account = smartsupp_account(request, account_id)
    trigger = _trigger(account, pk)
    sa = trigger.smartsupp_account
    form = ConfirmDeleteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            write = Write(
                account,
                services.delete_trigger,
                f"Delete Smartsupp trigger {trigger}",
                trigger,
            )
            done, answer = attempt(request, write, "deleted")
            if done:
                messages.success(request, f"{trigger}: {answer}.")
            return redirect(_list_url(account, sa))
        status = form_status()
    return render_page(
        request,
        "smartsupp/confirm_delete.html",
        page_context(
            request,
            account,
            form=form,
            title=f"Delete the trigger {trigger}",
            explain="Smartsupp deletes this auto-message. To keep it for later, "
            "deactivate it instead.",
            back=_list_url(account, sa),
        ),
        status=status,
    )


# --- office hours -------------------------------------------------------------------
@role_required(Role.MANAGER)
def officehours(request, account_id: int):
    """The weekly editor of the picked account's office hours (local HH:MM
    ranges per day, a time zone); a POST writes the minutes format."""
    account = smartsupp_account(request, account_id)
    accounts, sa = picked(request, account)
    hours = None
    if sa is not None:
        hours = SmartsuppOfficeHours.objects.filter(
            account=account, smartsupp_account=sa, removed_at__isnull=True
        ).first()
    if request.method == "POST" and sa is None:
        return redirect("smartsupp:officehours", account_id=account.pk)
    form = OfficeHoursForm(
        request.POST or None, hours=hours, vendor_label=account.spec.label
    )
    here = reverse("smartsupp:officehours", kwargs={"account_id": account.pk}) + (
        f"?{PICK}={sa.pk}" if sa is not None else ""
    )
    response, status = submit_write(
        request,
        form,
        lambda data: Write(
            account,
            services.update_office_hours,
            f"Set the office hours of {sa}",
            sa,
            {
                "active": data["active"],
                "days": data["days"],
                "timezone": data["timezone"],
                "config": data["config"],
            },
        ),
        lambda _row: success(
            request, f"Office hours of {sa} saved at Smartsupp.", here
        ),
        then=lambda: redirect(here),
    )
    pending = bool(sa is not None and intended(account, sa).pending_writes)
    return response or render_page(
        request,
        "smartsupp/officehours.html",
        page_context(
            request,
            account,
            accounts=accounts,
            sa=sa,
            hours=hours,
            form=form,
            pending=pending,
        ),
        status=status,
    )
