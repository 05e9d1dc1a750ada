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
from cobrowse_portal.core.models import Workspace, archive_workspace
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.vendorforms import (
    Write,
    attempt,
    failure_text,
    report_failure,
    submit,
    submit_write,
    success,
)
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import ClientCreateForm, ClientDomainsForm, ClientRenameForm
from ..models import SurflyClient
from .common import page_context, reseller_account


def _clients(account):
    return SurflyClient.objects.filter(
        account=account, removed_at__isnull=True
    ).select_related("client_workspace")


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
    form = ClientCreateForm(request.POST or None, vendor_label=account.spec.label)

    def created(result):
        text = f"Client {result.client} created at Surfly."
        if result.workspace is not None:
            text += (
                f" Workspace “{result.workspace}” was created with the "
                "client's REST key stored encrypted."
            )
        elif form.cleaned_data["create_workspace"]:
            text += " Surfly sent no REST key, so no workspace was created."
        return success(
            request,
            text,
            "surfly:client_edit",
            account_id=account.pk,
            pk=result.client.pk,
        )

    response, status = submit(
        request,
        form,
        lambda data: services.create_client(account, **data, parent=request.workspace),
        created,
    )
    return response or render_page(
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
    form = ClientRenameForm(request.POST, vendor_label=account.spec.label)
    return _client_write(
        request,
        account,
        client,
        "rename",
        form,
        lambda data: Write(
            account,
            services.rename_client,
            f"Rename client {client} to {data['company_name']}",
            client,
            {"company_name": data["company_name"]},
        ),
        lambda row: f"Renamed to {row.company_name}.",
    )


@role_required(Role.MANAGER)
@require_POST
def client_domains(request, account_id: int, pk: int):
    account = reseller_account(request, account_id)
    client = get_object_or_404(_clients(account), pk=pk)
    form = ClientDomainsForm(request.POST, vendor_label=account.spec.label)
    return _client_write(
        request,
        account,
        client,
        "domains",
        form,
        lambda data: Write(
            account,
            services.set_client_domains,
            f"Set the domains of {client}",
            client,
            {"domains": data["domains"]},
        ),
        lambda row: f"Domains of {row} saved.",
    )


def _client_write(request, account, client, slot, form, build, message):
    """Submit one of the client page's forms (`slot`: rename or domains): back to
    the page with `message(client)`, or the page with the form's errors."""
    response, status = submit_write(
        request,
        form,
        build,
        lambda row: success(
            request,
            message(row),
            "surfly:client_edit",
            account_id=account.pk,
            pk=client.pk,
        ),
        then=lambda: redirect(
            "surfly:client_edit", account_id=account.pk, pk=client.pk
        ),
    )
    return response or _client_page(
        request, account, client, status=status, **{slot: form}
    )


@role_required(Role.MANAGER)
@require_POST
def client_refresh(request, account_id: int, pk: int):
    """Read the client back from Surfly (plan, agents, domains) and store it."""
    account = reseller_account(request, account_id)
    client = get_object_or_404(_clients(account), pk=pk)
    try:
        client = services.refresh_client(account, client)
    except VendorError as exc:
        report_failure(request, exc, "refreshed", account.spec.label)
    else:
        messages.success(request, f"{client} refreshed from {account.spec.label}.")
    return redirect("surfly:client_edit", account_id=account.pk, pk=client.pk)


@role_required(Role.MANAGER)
@require_POST
def client_delete(request, account_id: int, pk: int):
    account = reseller_account(request, account_id)
    client = get_object_or_404(_clients(account), pk=pk)
    workspace = _client_workspace(client)
    choice = request.POST.get("workspace", "")
    if workspace is not None and choice not in ("archive", "keep"):
        # The portal made a client workspace for this client: deleting the client
        # at Surfly must not silently leave it behind (nor silently close it).
        messages.error(
            request,
            f"Choose what becomes of the client workspace {workspace.name}: "
            "archive it or keep it.",
        )
        return redirect("surfly:client_edit", account_id=account.pk, pk=client.pk)
    write = Write(account, services.delete_client, f"Delete client {client}", client)
    done, answer = attempt(request, write, "deleted")
    if not done:
        return redirect("surfly:client_edit", account_id=account.pk, pk=client.pk)
    messages.success(request, f"{client}: {answer}")
    if workspace is not None and choice == "archive":
        archive_workspace(workspace)
        messages.info(
            request,
            f"Client workspace {workspace.name} archived: nobody can open it and "
            "its vendor accounts are off; its data is kept.",
        )
    elif workspace is not None:
        messages.info(
            request,
            f"Client workspace {workspace.name} kept. Its Surfly account used this "
            "client's REST key, which Surfly no longer accepts.",
        )
    return redirect("surfly:clients", account_id=account.pk)


def _client_workspace(client) -> Workspace | None:
    """The open client workspace the portal created for `client`, if any."""
    workspace = client.client_workspace
    if workspace is None or workspace.archived_at is not None:
        return None
    return workspace


@role_required(Role.MANAGER)
@require_POST
def client_sessions(request, account_id: int, pk: int):
    """Fetch the client's active sessions, or all of them (`which=all`), from
    Surfly (an explicit action)."""
    account = reseller_account(request, account_id)
    client = get_object_or_404(_clients(account), pk=pk)
    active_only = request.POST.get("which") != "all"
    sessions, error = None, None
    try:
        sessions = services.client_sessions(account, client, active_only=active_only)
    except VendorError as exc:
        error = failure_text(exc, account.spec.label)
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
            sessions_active_only=active_only,
        ),
        partial="sessions",
    )
