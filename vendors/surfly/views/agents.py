"""Agents: list with filters, add, edit, delete, availability, access tokens."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import is_partial, render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.vendorforms import (
    INVALID,
    Write,
    attempt,
    failure_text,
    submit_write,
    success,
)
from cobrowse_portal.core.writes import QueuedBehind, intended, overlay
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import AgentCreateForm, AgentEditForm, AgentFilterForm
from ..models import SurflyAgent
from .common import page_context, surfly_account

AGENT_LIMIT = 1000


def _agents(account):
    return SurflyAgent.objects.filter(account=account, removed_at__isnull=True)


def _get_agent(account, pk: int) -> SurflyAgent:
    """The agent as the user means it to be: kept changes still waiting for
    Surfly are laid over the local row (`core.writes.intended`)."""
    return intended(account, get_object_or_404(_agents(account), pk=pk))


@role_required(Role.MANAGER)
def agents(request, account_id: int):
    account = surfly_account(request, account_id)
    form = AgentFilterForm(request.GET or None)
    qs = _agents(account)
    if form.is_bound:
        form.is_valid()
        data = form.cleaned_data
        if data.get("q"):
            qs = qs.filter(Q(name__icontains=data["q"]) | Q(email__icontains=data["q"]))
        if data.get("role"):
            qs = qs.filter(role=data["role"])
        if data.get("available") in ("true", "false"):
            qs = qs.filter(available=data["available"] == "true")
        if data.get("free") in ("true", "false"):
            qs = qs.filter(is_free=data["free"] == "true")
    rows = list(qs.order_by("name", "pk")[: AGENT_LIMIT + 1])
    return render_page(
        request,
        "surfly/agents.html",
        page_context(
            request,
            account,
            form=form,
            agents=overlay(account, rows[:AGENT_LIMIT]),
            truncated=len(rows) > AGENT_LIMIT,
            has_any=_agents(account).exists(),
        ),
        partial="table",
    )


@role_required(Role.MANAGER)
def agent_add(request, account_id: int):
    account = surfly_account(request, account_id)
    form = AgentCreateForm(request.POST or None, vendor_label=account.spec.label)
    return _agent_form_page(
        request,
        account,
        form,
        lambda data: Write(
            account,
            services.create_agent,
            f"Create agent {data['username']}",
            kwargs=data,
        ),
    )


@role_required(Role.MANAGER)
def agent_edit(request, account_id: int, pk: int):
    account = surfly_account(request, account_id)
    agent = _get_agent(account, pk)
    initial = {
        "username": agent.name,
        "role": agent.role,
        "available": bool(agent.available),
    }
    form = AgentEditForm(
        request.POST or None, initial=initial, vendor_label=account.spec.label
    )
    return _agent_form_page(
        request,
        account,
        form,
        lambda data: Write(
            account, services.update_agent, f"Update agent {agent}", agent, data
        ),
        agent,
    )


def _agent_form_page(request, account, form, build, agent=None):
    verb = "saved" if agent else "created"
    response, status = submit_write(
        request,
        form,
        build,
        lambda row: success(
            request, f"Agent {row} {verb} at Surfly.", "surfly:agents", account.pk
        ),
        then=lambda: redirect("surfly:agents", account_id=account.pk),
    )
    return response or render_page(
        request,
        "surfly/agent_form.html",
        page_context(request, account, form=form, agent=agent),
        status=status,
    )


@role_required(Role.MANAGER)
@require_POST
def agent_delete(request, account_id: int, pk: int):
    account = surfly_account(request, account_id)
    agent = _get_agent(account, pk)
    write = Write(account, services.delete_agent, f"Delete agent {agent}", agent)
    done, answer = attempt(request, write, "deleted")
    if done:
        messages.success(request, f"{agent}: {answer}")
    return redirect("surfly:agents", account_id=account.pk)


@role_required(Role.MANAGER)
@require_POST
def agent_toggle(request, account_id: int, pk: int):
    """Flip availability at Surfly; an htmx request gets the updated row back."""
    account = surfly_account(request, account_id)
    agent = _get_agent(account, pk)
    write = Write(
        account,
        services.update_agent,
        f"Make {agent} " + ("unavailable" if agent.available else "available"),
        agent,
        services.availability_change(agent),
    )
    error, status = None, 200
    try:
        write.run()
    except VendorError as exc:
        status = INVALID  # swapped in by portal.js so the row shows why
        error = failure_text(
            exc,
            account.spec.label,
            "Earlier changes to this agent are still waiting for {vendor}; this "
            "one is kept and will be sent after them."
            if isinstance(exc, QueuedBehind)
            else "{vendor} is not answering; the change is kept and will be retried.",
        )
        if exc.transient:
            write.keep(request, announce=False)  # the row itself says so
    agent = _get_agent(account, pk)
    if is_partial(request):
        return render_page(
            request,
            "surfly/agents.html",
            page_context(request, account, agent=agent, row_error=error),
            partial="row",
            status=status,
        )
    if error:
        messages.error(request, error)
    else:
        state = "available" if agent.available else "unavailable"
        messages.success(request, f"{agent} is now {state}.")
    return redirect("surfly:agents", account_id=account.pk)


@never_cache
@role_required(Role.MANAGER)
@require_POST
def agent_token(request, account_id: int, pk: int):
    """Issue an Embed API access token; it is shown once and never stored."""
    account = surfly_account(request, account_id)
    agent = _get_agent(account, pk)
    token, error, status = None, None, 200
    try:
        token = services.generate_access_token(
            account, agent, force_new=request.POST.get("force_new") == "1"
        )
    except VendorError as exc:
        status = INVALID
        error = failure_text(exc, account.spec.label)
    return render_page(
        request,
        "surfly/agent_token.html",
        page_context(request, account, agent=agent, token=token, error=error),
        partial="token",
        status=status,
    )
