"""Sessions history (keyset pages, filters), a session's page, the stop action
the Live board offers, agents (lookup) and the hourly usage figures."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.pagination import keyset_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.urlcache import url_pattern
from cobrowse_portal.core.vendorforms import Write, attempt, back_to, submit

from .. import services
from ..forms import AgentLookupForm, SessionFilterForm
from ..models import UpscopeAgent, UpscopeSession, UpscopeUsage
from .common import STOP_REQUESTED, page_context, sessions, upscope_account, visitors

PAGE = 50
#: Hourly usage snapshots shown (two days).
USAGE_HOURS = 48


def _page(qs, params):
    try:
        return keyset_page(qs, params, "started_at", size=PAGE)
    except (ValidationError, ValueError, TypeError, OverflowError):
        params = params.copy()
        params.pop("after", None)
        return keyset_page(qs, params, "started_at", size=PAGE)


@role_required(Role.MANAGER)
def session_list(request, account_id: int):
    account = upscope_account(request, account_id)
    form = SessionFilterForm(request.GET or None)
    qs = sessions(account).defer(*UpscopeSession.LIST_DEFER)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["status"] == "ongoing":
            qs = qs.filter(is_ongoing=True)  # the partial index of ongoing ones
        elif data["status"] == "ended":
            qs = qs.filter(is_ongoing=False)
        # Exact ids: the (account, visitor / agent, started) indexes.
        if data["visitor"].strip():
            qs = qs.filter(visitor_short_id=data["visitor"].strip())
        if data["agent"].strip():
            qs = qs.filter(agent_id=data["agent"].strip())
    page = _page(qs, request.GET)
    pattern = url_pattern("upscope:session_detail", "account_id", "pk")
    for row in page.rows:
        row.detail_url = pattern.format(account_id=account.pk, pk=row.pk)
    return render_page(
        request,
        "upscope/sessions.html",
        page_context(
            request,
            account,
            form=form,
            page=page,
            has_any=bool(page.rows) or sessions(account).exists(),
        ),
        partial="results",
    )


@role_required(Role.AGENT)
def session_detail(request, account_id: int, pk: int):
    account = upscope_account(request, account_id)
    session = get_object_or_404(sessions(account), pk=pk)
    visitor = (
        visitors(account).filter(external_id=session.visitor_short_id).first()
        if session.visitor_short_id
        else None
    )
    return render_page(
        request,
        "upscope/session_detail.html",
        page_context(request, account, session=session, visitor=visitor),
    )


@role_required(Role.AGENT)
@require_POST
def session_stop(request, account_id: int, pk: int):
    """Stop the session's visitor's session at Upscope (the Live board's End).
    The session is not marked ended: Upscope does not confirm a stop."""
    account = upscope_account(request, account_id)
    session = get_object_or_404(sessions(account), pk=pk)
    detail = url_pattern("upscope:session_detail", "account_id", "pk").format(
        account_id=account.pk, pk=session.pk
    )
    if not session.is_ongoing:
        messages.info(request, "That session has already ended.")
        return back_to(request, detail)
    write = Write(account, services.stop_session, f"Stop session {session}", session)
    done, _answer = attempt(request, write, "stopped")
    if done:
        messages.info(request, STOP_REQUESTED)
    return back_to(request, detail)


# --- agents ----------------------------------------------------------------------
@role_required(Role.MANAGER)
def agents(request, account_id: int):
    account = upscope_account(request, account_id)
    form = AgentLookupForm(request.POST or None, vendor_label=account.spec.label)
    response, status = submit(
        request,
        form,
        lambda data: services.lookup_agent(
            account, email=data["email"] or "", external_id=data["external_id"] or ""
        ),
        lambda agent: _found(request, account, agent),
    )
    if response:
        return response
    rows = UpscopeAgent.objects.filter(account=account, removed_at__isnull=True).defer(
        "raw", "fingerprint"
    )
    return render_page(
        request,
        "upscope/agents.html",
        page_context(request, account, form=form, agents=rows),
        status=status,
    )


def _found(request, account, agent):
    messages.success(
        request, f"Found {agent} at Upscope; stored in the agent directory."
    )
    return redirect("upscope:agents", account_id=account.pk)


# --- usage -----------------------------------------------------------------------
@role_required(Role.MANAGER)
def usage(request, account_id: int):
    account = upscope_account(request, account_id)
    rows = list(
        UpscopeUsage.objects.filter(account=account, removed_at__isnull=True)
        .defer("raw", "fingerprint")
        .order_by("-taken_at")[:USAGE_HOURS]
    )
    return render_page(
        request,
        "upscope/usage.html",
        page_context(request, account, latest=rows[0] if rows else None, rows=rows),
    )
