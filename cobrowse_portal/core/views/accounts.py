"""Vendor accounts: list, add, edit, disable, delete, test connection, sync now."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from cobrowse_portal.vendorkit import ratebudget, reconciliation, registry
from cobrowse_portal.vendorkit.errors import VendorError
from cobrowse_portal.vendorkit.http import build_session

from .. import writes
from ..choices import Role, WriteStatus
from ..forms import ScheduleForm, VendorAccountForm
from ..htmx import render_page
from ..models import PendingWrite, SyncRun, VendorAccount
from ..permissions import account_for, role_required
from ..schedules import schedules_for, set_interval
from ..tasks import enqueue_sync


@role_required(Role.MANAGER)
def account_list(request):
    accounts = request.workspace.accounts.order_by("vendor", "name")
    return render(
        request,
        "core/account_list.html",
        {"accounts": accounts, "vendors": registry.all_vendors()},
    )


@role_required(Role.MANAGER)
def account_detail(request, account_id: int):
    account = account_for(request, account_id)
    runs = account.runs.order_by("-queued_at")[:15]
    return render(
        request,
        "core/account_detail.html",
        {
            "account": account,
            "schedules": schedules_for(account),
            "runs": runs,
            "pending_writes": writes.listing(account),
            # The vendor host's shared budget over the last 24 h (one query).
            "rate": ratebudget.last_day([account]),
            # Webhooks versus pulls, if the vendor's events cover a stream.
            "recon": reconciliation.figures([account]),
            "webhook_url": request.build_absolute_uri(account.webhook_path)
            if account.spec.webhook_handler and request.role == Role.ADMIN
            else None,
        },
    )


@role_required(Role.ADMIN)
def account_add(request):
    vendor = request.GET.get("vendor") or request.POST.get("vendor")
    if vendor not in {s.slug for s in registry.all_vendors()}:
        return render(
            request,
            "core/account_pick_vendor.html",
            {"vendors": registry.all_vendors()},
        )
    form = VendorAccountForm(
        request.POST or None, vendor=vendor, workspace=request.workspace
    )
    if request.method == "POST" and form.is_valid():
        account = form.save()
        messages.success(request, f"Added {account}. Its syncs are scheduled.")
        return redirect("core:account_detail", account_id=account.pk)
    return render(request, "core/account_form.html", {"form": form, "vendor": vendor})


@role_required(Role.ADMIN)
def account_edit(request, account_id: int):
    account = account_for(request, account_id)
    form = VendorAccountForm(
        request.POST or None,
        instance=account,
        vendor=account.vendor,
        workspace=request.workspace,
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Account saved.")
        return redirect("core:account_detail", account_id=account.pk)
    return render(
        request,
        "core/account_form.html",
        {"form": form, "vendor": account.vendor, "account": account},
    )


@role_required(Role.ADMIN)
@require_POST
def account_toggle(request, account_id: int):
    account = account_for(request, account_id)
    account.enabled = not account.enabled
    account.save()
    state = "enabled; syncs scheduled" if account.enabled else "disabled; syncs stopped"
    messages.info(request, f"{account} {state}.")
    return redirect("core:account_detail", account_id=account.pk)


@role_required(Role.ADMIN)
def account_delete(request, account_id: int):
    account = account_for(request, account_id)
    if request.method == "POST":
        name = str(account)
        account.delete()
        messages.success(request, f"Deleted {name} and its local data.")
        return redirect("core:account_list")
    return render(request, "core/account_confirm_delete.html", {"account": account})


@role_required(Role.ADMIN)
@require_POST
def account_test(request, account_id: int | None = None):
    """Call the vendor's cheapest authenticated endpoint; answer an inline fragment.

    For a form (new or edited account) the submitted values are tested, blank
    secrets falling back to the stored ones.
    """
    instance = account_for(request, account_id) if account_id else VendorAccount()
    vendor = instance.vendor if account_id else request.POST.get("vendor", "")
    if vendor not in {s.slug for s in registry.all_vendors()}:
        return _test_result(request, False, "Pick a vendor first.")
    if "name" in request.POST:
        form = VendorAccountForm(
            request.POST, instance=instance, vendor=vendor, workspace=request.workspace
        )
        form.is_valid()  # field errors are not the point here; use what parsed
        if "base_url" in form.errors:
            # Never fall back to the vendor's live URL: a typo in a sandbox or
            # on-premise URL must not send the key to the public API.
            return _test_result(
                request, False, f"API root: {' '.join(form.errors['base_url'])}"
            )
        base_url = (
            form.cleaned_data.get("base_url") or registry.get(vendor).default_base_url
        )
        creds = form.credential_values()
        missing = [
            cf.label
            for cf in form.spec.credential_fields
            if cf.required and not creds.get(cf.name)
        ]
        if missing:
            return _test_result(request, False, f"Fill in {', '.join(missing)} first.")
    else:
        base_url, creds = instance.base_url, instance.credentials
    # A person is waiting: short timeouts and no retries, unlike background syncs.
    session = build_session(timeout=(3.05, 10), retries=0)
    client = registry.get(vendor).client_cls(base_url, creds, session=session)
    try:
        detail = client.check_connection()
    except VendorError as exc:
        return _test_result(request, False, exc.user_message())
    return _test_result(request, True, detail)


def _test_result(request, ok: bool, message: str) -> HttpResponse:
    return render(request, "core/_test_result.html", {"ok": ok, "message": message})


@role_required(Role.MANAGER)
@require_POST
def account_sync(request, account_id: int):
    account = account_for(request, account_id)
    if not account.enabled:
        messages.error(request, "Enable the account before syncing it.")
        return redirect("core:account_detail", account_id=account.pk)
    runs = enqueue_sync(account)
    ids = ",".join(str(r.pk) for r in runs)
    return render(
        request,
        "core/_sync_progress.html",
        {"runs": runs, "ids": ids, "account": account},
    )


@role_required(Role.MANAGER)
def sync_progress(request, account_id: int):
    account = account_for(request, account_id)
    # User input: only ids an integer column can hold, and no more than a run set.
    ids = [
        int(i)
        for i in request.GET.get("ids", "").split(",")
        if i.isascii() and i.isdigit() and len(i) <= 18
    ][:100]
    runs = list(SyncRun.objects.filter(account=account, pk__in=ids).order_by("stream"))
    context = {"runs": runs, "ids": request.GET.get("ids", ""), "account": account}
    if all(r.is_finished for r in runs):
        response = render(
            request, "core/_sync_progress.html", {**context, "done": True}
        )
        response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "core/_sync_progress.html", context)


@role_required(Role.MANAGER)
def account_schedule(request, account_id: int, stream: str):
    account = account_for(request, account_id)
    row = next((s for s in schedules_for(account) if s["stream"].name == stream), None)
    if row is None or row["task"] is None:
        return render(
            request,
            "core/_schedule_row.html",
            {"account": account, "row": row, "error": "No such schedule"},
            status=404,
        )
    form = ScheduleForm(
        request.POST or None,
        initial={"every": row["every"], "enabled": row["task"].enabled},
    )
    if request.method == "POST" and form.is_valid():
        set_interval(
            account, stream, form.cleaned_data["every"], form.cleaned_data["enabled"]
        )
        row = next(s for s in schedules_for(account) if s["stream"].name == stream)
        form = None
    return render_page(
        request,
        "core/_schedule_row.html",
        {"account": account, "row": row, "form": form},
    )


def get_run(request, run_id: int) -> SyncRun:
    return get_object_or_404(
        SyncRun.objects.select_related("account"),
        pk=run_id,
        account__workspace=request.workspace,
    )


@role_required(Role.MANAGER)
@require_POST
def pending_write(request, account_id: int, pk: int, action: str):
    """Retry a kept write now, or discard it."""
    account = account_for(request, account_id)
    write = get_object_or_404(
        PendingWrite.objects.filter(
            account=account, status__in=[WriteStatus.PENDING, WriteStatus.FAILED]
        ),
        pk=pk,
    )
    if action == "discard":
        write.status = WriteStatus.DISCARDED
        write.save(update_fields=["status", "updated_at"])
        messages.info(request, f"Discarded: {write}.")
    else:
        write.status = WriteStatus.PENDING
        write.save(update_fields=["status", "updated_at"])
        head = writes.retry_now(write)  # its object's queue, from the oldest
        if head.pk == write.pk:
            messages.info(request, f"Retrying now: {write}.")
        else:
            messages.info(
                request, f"Retrying now: {head}, then {write} (changes go in order)."
            )
    return redirect("core:account_detail", account_id=account.pk)
