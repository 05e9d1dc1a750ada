"""Agents: list with filters, add, edit, delete, availability, access tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.db.models import Q
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.fasthtml import esc
from cobrowse_portal.core.htmx import is_partial, render_page
from cobrowse_portal.core.pagecache import cached_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.templatetags.portal import badge
from cobrowse_portal.core.urlcache import url_pattern
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


_BADGES = {
    "removal": badge("pending", "deletion pending"),
    "pending": badge("pending", "change pending"),
    "available": badge("ok", "available"),
    "unknown": badge("new", "unknown"),
    "unavailable": badge("skipped", "unavailable"),
    "free": badge("ok", "free"),
}
_ACTIONS = ("toggle", "token", "edit", "delete")


class AgentRows:
    """Formats agent table rows in Python: 1,000 rows through the row partial's
    per-cell nodes cost most of the page. Escaped as the partial escaped them
    (tests/vendors/surfly/test_agent_rows.py compares the two)."""

    def __init__(self, request, account):
        self.label = esc(account.spec.label)
        self.csrf = (
            '<input type="hidden" name="csrfmiddlewaretoken" '
            f'value="{esc(get_token(request))}">'
        )
        self.urls = {
            name: url_pattern(f"surfly:agent_{name}", positional=2) for name in _ACTIONS
        }
        self.account_pk = account.pk

    def html(self, agent, row_error: str = "") -> SafeString:
        b, label, csrf = _BADGES, self.label, self.csrf
        urls = {
            n: esc(u.format(self.account_pk, agent.pk)) for n, u in self.urls.items()
        }
        name = esc(agent.name or "—")
        if "name" in agent.pending_fields:
            was = esc(agent.vendor_values.get("name") or "—")
            name += (
                f' <small class="muted" title="What {label} has until the change '
                f'goes through">({label}: {was})</small>'
            )
        pending = ""
        if agent.pending_removal:
            pending = b["removal"]
        elif agent.pending_writes:
            pending = (
                f'<span title="Kept until {label} answers; shown as it will be">'
                f"{b['pending']}</span>"
            )
        if agent.available:
            state = b["available"]
        elif agent.available is None:
            state = b["unknown"]
        else:
            state = b["unavailable"]
        free = b["free"] if agent.is_free else ""
        error = (
            f'<div class="error" role="alert">{esc(row_error)}</div>'
            if row_error
            else ""
        )
        login = "never"
        if agent.last_login:
            local = timezone.template_localtime(agent.last_login)
            login = (
                f'<span title="{local.isoformat()}">'
                f"{esc(naturaltime(agent.last_login))}</span>"
            )
        toggle = "Set unavailable" if agent.available else "Set available"
        return SafeString(
            f'<tr id="agent-{agent.pk}"><td>{name}</td>'
            f"<td>{esc(agent.email or '—')}</td><td>{esc(agent.role)}</td>"
            f"<td>\n{pending}\n{state}\n{free}\n{error}\n</td>"
            f"<td>{login}</td>"
            '<td><div class="actions">'
            f'<form method="post" action="{urls["toggle"]}" class="inline" '
            f'hx-post="{urls["toggle"]}" hx-target="#agent-{agent.pk}" '
            f'hx-swap="outerHTML">{csrf}'
            f'<button type="submit" class="btn small">{toggle}</button></form>\n'
            f'<form method="post" action="{urls["token"]}" class="inline" '
            f'hx-post="{urls["token"]}" hx-target="#token-slot">{csrf}'
            '<button type="submit" class="btn small">Access token</button></form>\n'
            f'<a class="btn small" href="{urls["edit"]}">Edit</a>\n'
            f'<form method="post" action="{urls["delete"]}" class="inline">{csrf}'
            '<button type="submit" class="btn small danger" '
            f'data-confirm="Delete agent {esc(agent)} at Surfly?">Delete</button>'
            "</form></div></td></tr>"
        )


@role_required(Role.MANAGER)
@cached_page(bucket=10)
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
    shown = overlay(account, rows[:AGENT_LIMIT])
    if shown:
        formatter = AgentRows(request, account)
        for agent in shown:
            agent.html = formatter.html(agent)
    return render_page(
        request,
        "surfly/agents.html",
        page_context(
            request,
            account,
            form=form,
            agents=shown,
            truncated=len(rows) > AGENT_LIMIT,
            # Only asked when nothing is listed (the "no agents yet" message).
            has_any=bool(rows) or _agents(account).exists(),
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
        agent.html = AgentRows(request, account).html(agent, error or "")
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
