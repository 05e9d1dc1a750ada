"""Company options, webhooks and servers."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import CompanyOptionsForm, WebhookForm
from ..models import SurflyCompanyOptions, SurflyServer, SurflyWebhook
from .common import form_status, page_context, report_failure, surfly_account


# --- company options --------------------------------------------------------------
@role_required(Role.MANAGER)
def options(request, account_id: int):
    account = surfly_account(request, account_id)
    stored = SurflyCompanyOptions.objects.filter(
        account=account, external_id=services.OPTIONS_ID
    ).first()
    form = None
    status = 200
    if stored is not None:
        form = CompanyOptionsForm(request.POST or None, options=stored.options)
        if request.method == "POST":
            if form.is_valid():
                changes = form.changes()
                if not changes:
                    messages.info(request, "Nothing changed, so nothing was sent.")
                    return redirect("surfly:options", account_id=account.pk)
                try:
                    services.update_options(account, changes)
                except VendorError as exc:
                    form.add_vendor_error(exc)
                    status = form_status(form, exc)
                else:
                    names = ", ".join(sorted(changes))
                    messages.success(request, f"Saved at Surfly: {names}.")
                    return redirect("surfly:options", account_id=account.pk)
            else:
                status = form_status(form)
    return render_page(
        request,
        "surfly/options.html",
        page_context(
            request,
            account,
            form=form,
            stored=stored,
            skipped={k: stored.options[k] for k in form.skipped} if form else {},
        ),
        status=status,
    )


@role_required(Role.MANAGER)
@require_POST
def options_reset(request, account_id: int):
    account = surfly_account(request, account_id)
    try:
        services.reset_options(account)
    except VendorError as exc:
        report_failure(request, exc, "reset")
    else:
        messages.success(request, "Every company option is back to Surfly's default.")
    return redirect("surfly:options", account_id=account.pk)


# --- webhooks ---------------------------------------------------------------------
def _webhooks(account):
    return SurflyWebhook.objects.filter(account=account, removed_at__isnull=True)


@role_required(Role.MANAGER)
def webhooks(request, account_id: int):
    account = surfly_account(request, account_id)
    hooks = list(_webhooks(account).order_by("category", "url", "pk"))
    switched_off = [h for h in hooks if h.switched_off_by_surfly]
    return render_page(
        request,
        "surfly/webhooks.html",
        page_context(request, account, webhooks=hooks, switched_off=switched_off),
    )


def _webhook_form_page(request, account, webhook=None):
    initial = (
        {
            "url": webhook.url,
            "category": webhook.category,
            "enabled": webhook.enabled,
            "ssl_verification": webhook.ssl_verification,
        }
        if webhook
        else None
    )
    form = WebhookForm(
        request.POST or None,
        initial=initial,
        current_category=webhook.category if webhook else "",
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if webhook is None:
                    services.create_webhook(account, **data)
                else:
                    services.update_webhook(account, webhook, **data)
            except VendorError as exc:
                form.add_vendor_error(exc)
                status = form_status(form, exc)
            else:
                verb = "created" if webhook is None else "saved"
                messages.success(request, f"Webhook for {data['category']} {verb}.")
                return redirect("surfly:webhooks", account_id=account.pk)
        else:
            status = form_status(form)
    return render_page(
        request,
        "surfly/webhook_form.html",
        page_context(request, account, form=form, webhook=webhook),
        status=status,
    )


@role_required(Role.MANAGER)
def webhook_add(request, account_id: int):
    return _webhook_form_page(request, surfly_account(request, account_id))


@role_required(Role.MANAGER)
def webhook_edit(request, account_id: int, pk: int):
    account = surfly_account(request, account_id)
    webhook = get_object_or_404(_webhooks(account), pk=pk)
    return _webhook_form_page(request, account, webhook)


@role_required(Role.MANAGER)
@require_POST
def webhook_delete(request, account_id: int, pk: int):
    account = surfly_account(request, account_id)
    webhook = get_object_or_404(_webhooks(account), pk=pk)
    try:
        services.delete_webhook(account, webhook)
    except VendorError as exc:
        report_failure(request, exc, "deleted")
    else:
        messages.success(request, f"Webhook {webhook} deleted.")
    return redirect("surfly:webhooks", account_id=account.pk)


# --- servers ----------------------------------------------------------------------
@role_required(Role.MANAGER)
def servers(request, account_id: int):
    account = surfly_account(request, account_id)
    rows = SurflyServer.objects.filter(
        account=account, removed_at__isnull=True
    ).order_by("region", "description", "pk")
    return render_page(
        request, "surfly/servers.html", page_context(request, account, servers=rows)
    )
