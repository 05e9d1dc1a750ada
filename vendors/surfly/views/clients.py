"""Reseller clients: list, create (optionally with a client workspace), rename,
set domains, delete, and a client's active sessions on request.

A client's REST key is never rendered: it goes straight from Surfly's answer into
the encrypted credentials of the new client workspace's account.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import ClientCreateForm, ClientDomainsForm, ClientRenameForm
from ..models import SurflyClient
from .common import form_status, page_context, report_failure, reseller_account


def _clients(account):
    return SurflyClient.objects.filter(account=account, removed_at__isnull=True)


@role_required(Role.MANAGER)
def clients(request, account_id: int):
    account = reseller_account(request, account_id)
    rows = _clients(account).order_by("company_name", "pk")
    return render_page(
        request, "surfly/clients.html", page_context(request, account, clients=rows)
    )


@role_required(Role.MANAGER)
def client_add(request, account_id: int):
    account = reseller_account(request, account_id)
    form = ClientCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.create_client(
                    account,
                    company_name=data["company_name"],
                    domains=data["domains"],
                    agent_email=data["agent_email"],
                    agent_name=data["agent_name"],
                    create_workspace=data["create_workspace"],
                    parent=request.workspace,
                )
            except VendorError as exc:
                form.add_vendor_error(exc)
                status = form_status(form, exc)
            else:
                text = f"Client {created.client} created at Surfly."
                if created.workspace is not None:
                    text += (
                        f" Workspace “{created.workspace}” was created with the "
                        "client's REST key stored encrypted."
                    )
                elif data["create_workspace"]:
                    text += " Surfly sent no REST key, so no workspace was created."
                messages.success(request, text)
                return redirect(
                    "surfly:client_edit", account_id=account.pk, pk=created.client.pk
                )
        else:
            status = form_status(form)
    return render_page(
        request,
        "surfly/client_form.html",
        page_context(request, account, form=form),
        status=status,
    )


def _client_page(request, account, client, *, rename=None, domains=None, status=200):
    rename = rename or ClientRenameForm(initial={"company_name": client.company_name})
    domains = domains or ClientDomainsForm(
        initial={"domains": ", ".join(client.domains)}
    )
    return render_page(
        request,
        "surfly/client_detail.html",
        page_context(
            request, account, client=client, rename_form=rename, domains_form=domains
        ),
        status=status,
    )


@role_required(Role.MANAGER)
def client_edit(request, account_id: int, pk: int):
    """The client's page; a POST renames it (PUT at Surfly)."""
    account = reseller_account(request, account_id)
    client = get_object_or_404(_clients(account), pk=pk)
    if request.method != "POST":
        return _client_page(request, account, client)
    form = ClientRenameForm(request.POST)
    if form.is_valid():
        try:
            services.rename_client(account, client, form.cleaned_data["company_name"])
        except VendorError as exc:
            form.add_vendor_error(exc)
            return _client_page(
                request, account, client, rename=form, status=form_status(form, exc)
            )
        messages.success(request, f"Renamed to {client.company_name}.")
        return redirect("surfly:client_edit", account_id=account.pk, pk=client.pk)
    return _client_page(request, account, client, rename=form, status=form_status(form))


@role_required(Role.MANAGER)
@require_POST
def client_domains(request, account_id: int, pk: int):
    account = reseller_account(request, account_id)
    client = get_object_or_404(_clients(account), pk=pk)
    form = ClientDomainsForm(request.POST)
    if form.is_valid():
        try:
            services.set_client_domains(account, client, form.cleaned_data["domains"])
        except VendorError as exc:
            form.add_vendor_error(exc)
            return _client_page(
                request, account, client, domains=form, status=form_status(form, exc)
            )
        messages.success(request, f"Domains of {client} saved.")
        return redirect("surfly:client_edit", account_id=account.pk, pk=client.pk)
    return _client_page(
        request, account, client, domains=form, status=form_status(form)
    )


@role_required(Role.MANAGER)
@require_POST
def client_delete(request, account_id: int, pk: int):
    account = reseller_account(request, account_id)
    client = get_object_or_404(_clients(account), pk=pk)
    try:
        answer = services.delete_client(account, client)
    except VendorError as exc:
        report_failure(request, exc, "deleted")
        return redirect("surfly:client_edit", account_id=account.pk, pk=client.pk)
    messages.success(request, f"{client}: {answer}")
    return redirect("surfly:clients", account_id=account.pk)


@role_required(Role.MANAGER)
@require_POST
def client_sessions(request, account_id: int, pk: int):
    """Fetch the client's active sessions from Surfly (an explicit action)."""
    account = reseller_account(request, account_id)
    client = get_object_or_404(_clients(account), pk=pk)
    sessions, error = None, None
    try:
        sessions = services.client_sessions(account, client)
    except VendorError as exc:
        error = (
            "Surfly is not answering right now; press the button again to retry."
            if exc.transient
            else f"Surfly refused: {exc.user_message()}"
        )
    return render_page(
        request,
        "surfly/client_detail.html",
        page_context(
            request,
            account,
            client=client,
            rename_form=ClientRenameForm(initial={"company_name": client.company_name}),
            domains_form=ClientDomainsForm(
                initial={"domains": ", ".join(client.domains)}
            ),
            client_sessions=sessions,
            sessions_error=error,
            sessions_loaded=True,
        ),
        partial="sessions",
    )
