"""Reseller subscriptions: list, create (optionally with the client workspace),
delete (archiving or keeping the workspace), and a new API key, shown once.

A subscription's key and secret are stored encrypted only; the one page that
shows a new key is the answer to the POST that made it (never stored for a
later page, never cached)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.vendorforms import (
    Write,
    attempt,
    report_failure,
    submit,
    success,
)
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import SubscriptionDeleteForm, SubscriptionForm
from ..models import SameSurfApiKey, SameSurfSubscription
from .common import page_context, reseller_account


def _subscriptions(account):
    return SameSurfSubscription.objects.filter(
        account=account, removed_at__isnull=True
    ).select_related("client_workspace")


@role_required(Role.MANAGER)
def subscriptions(request, account_id: int):
    account = reseller_account(request, account_id)
    return render_page(
        request,
        "samesurf/subscriptions.html",
        page_context(
            request,
            account,
            subscriptions=_subscriptions(account).order_by("name", "pk"),
        ),
    )


@role_required(Role.MANAGER)
def subscription_add(request, account_id: int):
    account = reseller_account(request, account_id)
    form = SubscriptionForm(request.POST or None, vendor_label=account.spec.label)

    def create(data):
        return services.create_subscription(
            account,
            name=data["name"],
            license_count=data["license_count"],
            overrides=data["overrides"],
            bookmarks=data["bookmarks"],
            disabled_features=data["disabled_features"],
            create_workspace=data["create_workspace"],
            parent=request.workspace,
        )

    def created(result):
        label = account.spec.label
        text = f"Subscription {result.subscription} created at {label}."
        if result.workspace is not None:
            text += (
                f" Workspace “{result.workspace}” was created with a new API key "
                "and secret stored encrypted."
            )
        elif result.key_error:
            text += (
                f" No workspace was created: {result.key_error} Use “Add an API "
                "key” to try again."
            )
        return success(
            request,
            text,
            "samesurf:subscription_detail",
            account_id=account.pk,
            pk=result.subscription.pk,
        )

    response, status = submit(request, form, create, created)
    return response or render_page(
        request,
        "samesurf/subscription_form.html",
        page_context(request, account, form=form),
        status=status,
    )


def _detail(request, account, sub, *, new_key=None, status=200):
    keys = SameSurfApiKey.objects.filter(
        subscription=sub, removed_at__isnull=True
    ).defer("secret_encrypted")
    response = render_page(
        request,
        "samesurf/subscription_detail.html",
        page_context(
            request,
            account,
            subscription=sub,
            keys=keys,
            new_key=new_key,
            delete_form=SubscriptionDeleteForm(),
        ),
        status=status,
    )
    if new_key:
        add_never_cache_headers(response)
    return response


@role_required(Role.MANAGER)
def subscription_detail(request, account_id: int, pk: int):
    account = reseller_account(request, account_id)
    sub = get_object_or_404(_subscriptions(account), pk=pk)
    return _detail(request, account, sub)


@role_required(Role.MANAGER)
@require_POST
def subscription_key(request, account_id: int, pk: int):
    """A new API key for the subscription: stored encrypted, shown this once."""
    account = reseller_account(request, account_id)
    sub = get_object_or_404(_subscriptions(account), pk=pk)
    try:
        row = services.add_api_key(account, sub)
    except VendorError as exc:
        report_failure(request, exc, "created", account.spec.label)
        return redirect("samesurf:subscription_detail", account_id=account.pk, pk=pk)
    return _detail(request, account, sub, new_key=row.credentials())


@role_required(Role.MANAGER)
@require_POST
def subscription_delete(request, account_id: int, pk: int):
    account = reseller_account(request, account_id)
    sub = get_object_or_404(_subscriptions(account), pk=pk)
    form = SubscriptionDeleteForm(request.POST)
    archive = not form.is_valid() or form.cleaned_data["workspace"] != "keep"
    write = Write(
        account,
        services.delete_subscription,
        f"Delete subscription {sub}",
        sub,
        {"archive": archive and sub.client_workspace_id is not None},
    )
    done, answer = attempt(request, write, "deleted")
    if not done:
        return redirect("samesurf:subscription_detail", account_id=account.pk, pk=pk)
    if sub.client_workspace_id:
        answer += (
            f" Workspace “{sub.client_workspace}” was archived."
            if archive
            else f" Workspace “{sub.client_workspace}” was kept."
        )
    messages.success(request, answer)
    return redirect("samesurf:subscriptions", account_id=account.pk)
