"""Company options, webhooks and servers."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import has_role, role_required
from cobrowse_portal.core.vendorforms import (
    Write,
    attempt,
    failure_text,
    report_failure,
    submit_write,
    success,
)
from cobrowse_portal.vendorkit.errors import VendorError
from cobrowse_portal.vendorkit.webhooks import receiver_url

from .. import services
from ..forms import CompanyOptionsForm, WebhookForm
from ..models import SurflyCompanyOptions, SurflyServer, SurflyWebhook
from ..schemas import WEBHOOK_CATEGORIES
from .common import page_context, surfly_account


# --- company options --------------------------------------------------------------
@role_required(Role.MANAGER)
def options(request, account_id: int):
    account = surfly_account(request, account_id)
    stored = SurflyCompanyOptions.objects.filter(
        account=account, external_id=services.OPTIONS_ID
    ).first()
    form, response, status = None, None, 200
    if stored is not None:
        form = CompanyOptionsForm(
            request.POST or None,
            options=stored.options,
            vendor_label=account.spec.label,
        )
        response, status = submit_write(
            request,
            form,
            lambda _: Write(
                account,
                services.update_options,  # sends nothing when nothing changed
                "Change company options: " + ", ".join(sorted(form.changes())),
                kwargs={"changes": form.changes()},
            ),
            lambda _: _options_saved(request, account, form.changes()),
            then=lambda: redirect("surfly:options", account_id=account.pk),
        )
    return response or render_page(
        request,
        "surfly/options.html",
        page_context(
            request,
            account,
            form=form,
            stored=stored,
            skipped={k: stored.options[k] for k in form.skipped} if form else {},
            sources=_option_sources(request, account).values(),
        ),
        status=status,
    )


def _options_saved(request, account, changes: dict):
    if not changes:
        messages.info(request, "Nothing changed, so nothing was sent.")
        return redirect("surfly:options", account_id=account.pk)
    names = ", ".join(sorted(changes))
    return success(
        request, f"Saved at Surfly: {names}.", "surfly:options", account_id=account.pk
    )


def _option_sources(request, account):
    """Other Surfly accounts of this workspace whose options are stored here."""
    stored = SurflyCompanyOptions.objects.filter(
        account__workspace=request.workspace,
        account__vendor=account.vendor,
        external_id=services.OPTIONS_ID,
    ).exclude(account=account)
    return {str(o.account_id): o for o in stored.select_related("account")}


@role_required(Role.MANAGER)
@require_POST
def options_copy(request, account_id: int):
    """Replace every company option with another account's (POST at Surfly).

    The first POST names the source and shows what would change; only the
    second, with `confirm`, sends it: a POST replaces the whole set."""
    account = surfly_account(request, account_id)
    sources = _option_sources(request, account)
    source = sources.get(request.POST.get("source", ""))
    if source is None:
        messages.error(request, "Pick one of this workspace's accounts to copy from.")
        return redirect("surfly:options", account_id=account.pk)
    current = SurflyCompanyOptions.objects.filter(
        account=account, external_id=services.OPTIONS_ID
    ).first()
    mine = current.options if current else {}
    changes = sorted(
        k
        for k in set(mine) | set(source.options)
        if mine.get(k) != source.options.get(k)
    )
    if request.POST.get("confirm") != "yes":
        return render_page(
            request,
            "surfly/options_copy.html",
            page_context(request, account, source=source, changes=changes),
        )
    write = Write(
        account,
        services.replace_options,
        f"Replace company options with those of {source.account}",
        kwargs={"options": dict(source.options)},
    )
    if attempt(request, write, "replaced")[0]:
        messages.success(
            request,
            f"Company options replaced with those of {source.account} "
            f"({len(changes)} changed).",
        )
    return redirect("surfly:options", account_id=account.pk)


@role_required(Role.MANAGER)
@require_POST
def options_reset(request, account_id: int):
    account = surfly_account(request, account_id)
    write = Write(account, services.reset_options, "Reset company options to defaults")
    if attempt(request, write, "reset")[0]:
        messages.success(request, "Every company option is back to Surfly's default.")
    return redirect("surfly:options", account_id=account.pk)


# --- webhooks ---------------------------------------------------------------------
def _webhooks(account):
    return SurflyWebhook.objects.filter(account=account, removed_at__isnull=True)


def _shown(request, account, text: str) -> str:
    """`text` as this user may see it: the portal's own receiver URL carries a
    secret token that only admins see (as on the account page)."""
    if has_role(request, Role.ADMIN):
        return text
    return account.hide_webhook_token(text)


@role_required(Role.MANAGER)
def webhooks(request, account_id: int):
    account = surfly_account(request, account_id)
    hooks = list(_webhooks(account).order_by("category", "url", "pk"))
    for hook in hooks:
        hook.shown_url = _shown(request, account, hook.url)
    switched_off = [h for h in hooks if h.switched_off_by_surfly]
    return render_page(
        request,
        "surfly/webhooks.html",
        page_context(
            request,
            account,
            webhooks=hooks,
            switched_off=switched_off,
            can_register=has_role(request, Role.ADMIN)
            and bool(account.spec.webhook_handler),
            categories=WEBHOOK_CATEGORIES,
        ),
    )


@role_required(Role.ADMIN)
@require_POST
def webhooks_register(request, account_id: int):
    """Point one webhook per event category at this account's receiver. Admins
    only: the receiver URL holds the account's secret webhook token."""
    account = surfly_account(request, account_id)
    label = account.spec.label
    receiver = receiver_url(account, request)
    try:
        done = services.register_receiver(account, receiver)
    except VendorError as exc:
        report_failure(request, exc, "registered", label)
        return redirect("surfly:webhooks", account_id=account.pk)
    already = (
        f"Already registered: {', '.join(done.existing)}." if done.existing else ""
    )
    if done.error is not None:
        failed = failure_text(done.error, label, "{vendor} is not answering right now")
        messages.warning(
            request,
            f"Registered this portal's receiver at {label} for "
            f"{', '.join(done.created)}, but not for {done.failed} ({failed}); "
            f"press the button again for the rest. {already}".strip(),
        )
    elif done.created:
        messages.success(
            request,
            f"Registered this portal's receiver at {label} for "
            f"{', '.join(done.created)}. {already}".strip(),
        )
    else:
        messages.info(
            request,
            f"{label} already sends every event ({', '.join(done.existing)}) to "
            "this portal's receiver; nothing was changed.",
        )
    return redirect("surfly:webhooks", account_id=account.pk)


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
        vendor_label=account.spec.label,
    )
    # The receiver's URL is not shown to non-admins, so it is not a field for them
    # either: it stays as stored.
    hidden_url = ""
    if webhook and _shown(request, account, webhook.url) != webhook.url:
        hidden_url = _shown(request, account, webhook.url)
        del form.fields["url"]

    def build(data) -> Write:
        data = {"url": webhook.url, **data} if hidden_url else data
        if webhook is None:  # not @retryable: a lost answer would make two
            return Write(
                account, services.create_webhook, "Create webhook", kwargs=data
            )
        text = _shown(request, account, f"Update webhook {webhook}")
        return Write(account, services.update_webhook, text, webhook, data)

    verb = "created" if webhook is None else "saved"
    response, status = submit_write(
        request,
        form,
        build,
        lambda _: success(
            request,
            f"Webhook for {form.cleaned_data['category']} {verb}.",
            "surfly:webhooks",
            account_id=account.pk,
        ),
        then=lambda: redirect("surfly:webhooks", account_id=account.pk),
    )
    return response or render_page(
        request,
        "surfly/webhook_form.html",
        page_context(
            request, account, form=form, webhook=webhook, hidden_url=hidden_url
        ),
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
    write = Write(
        account,
        services.delete_webhook,
        _shown(request, account, f"Delete webhook {webhook}"),
        webhook,
    )
    if attempt(request, write, "deleted")[0]:
        messages.success(
            request, _shown(request, account, f"Webhook {webhook} deleted.")
        )
    return redirect("surfly:webhooks", account_id=account.pk)


@role_required(Role.MANAGER)
@require_POST
def webhook_refresh(request, account_id: int, pk: int):
    """Read one webhook back from Surfly (switched off after failed deliveries?)."""
    account = surfly_account(request, account_id)
    webhook = get_object_or_404(_webhooks(account), pk=pk)
    label = account.spec.label
    try:
        webhook = services.refresh_webhook(account, webhook)
    except VendorError as exc:
        report_failure(request, exc, "refreshed", label)
    else:
        state = "enabled" if webhook.enabled else "switched off"
        messages.success(
            request, f"Webhook for {webhook.category} refreshed: {state} at {label}."
        )
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
