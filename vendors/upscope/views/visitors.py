"""Visitors online (the stored visitors, searched with Upscope's own token
syntax, and a live search at Upscope on request), a visitor's page with its
sessions, and the actions on a visitor: watch, stop, refresh, delete, and the
on-premise token; deleting every offline visitor."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.urlcache import url_pattern
from cobrowse_portal.core.vendorforms import (
    Write,
    attempt,
    failure_text,
    form_status,
    report_failure,
)
from cobrowse_portal.vendorkit.errors import VendorError
from cobrowse_portal.vendorkit.safeurl import safe_url
from cobrowse_portal.vendorkit.webhooks import receiver_url

from .. import services
from ..forms import DeleteOfflineForm, VisitorSearchForm, WatchForm, parse_search
from ..models import UpscopeVisitor
from .common import (
    STOP_REQUESTED,
    page_context,
    sessions,
    upscope_account,
    visitor_or_404,
    visitors,
)

#: Stored visitors shown at once (the table is who was seen lately, and the
#: search narrows it; Upscope itself answers at most 10 a search).
LIMIT = 100
#: A visitor's newest sessions on its page.
VISITOR_SESSIONS = 50


def refused_status(exc: VendorError) -> int:
    """An action's page re-rendered after `exc`: 422 when Upscope refused;
    200 when it did not answer (the page says so and keeps the input: no 5xx
    for a vendor being away, as for every one-click action)."""
    return 200 if exc.transient else form_status(exc)


def _local_search(qs, tokens):
    """The stored visitors matching every token, as Upscope would match them
    (vendor-apis.md §3.6; free text is a case-blind substring here, Upscope's
    is fuzzy)."""
    for kind, value in tokens:
        if kind == "online":
            qs = qs.filter(is_online=True)
        elif kind == "-online":
            qs = qs.filter(is_online=False)
        elif kind == "ip":
            qs = qs.filter(ip_address=value)
        elif kind == "id":
            qs = qs.filter(unique_id=value)
        elif kind == "code":
            qs = qs.filter(lookup_code=value)
        elif kind == "tag":
            qs = qs.filter(tags__icontains=f'"{value}"')
        elif kind == "integration":
            qs = qs.filter(integration_ids__icontains=f'"{value}"')
        elif kind == "email":
            qs = qs.filter(
                Q(email__iexact=value) | Q(identities__icontains=f'"{value}"')
            )
        else:
            qs = qs.filter(
                Q(call_name__icontains=value)
                | Q(email__icontains=value)
                | Q(unique_id__icontains=value)
                | Q(location_city__icontains=value)
                | Q(last_url__icontains=value)
            )
    return qs


def _detail_urls(account, rows) -> None:
    pattern = url_pattern("upscope:visitor_detail", "account_id", "pk")
    for row in rows:
        row.detail_url = pattern.format(account_id=account.pk, pk=row.pk)


def _visitors_page(request, account, form, *, found=None, status=200, error=""):
    tokens, rows, truncated = [], [], False
    if not form.is_valid():
        status = 422
    else:
        try:
            tokens = parse_search(form.cleaned_data["q"])
        except ValueError as exc:
            form.add_error("q", str(exc))
            status = 422
    if form.is_valid():
        qs = _local_search(
            visitors(account).defer(*UpscopeVisitor.LIST_DEFER), tokens
        ).order_by("-is_online", "-last_seen_at", "-id")
        rows = list(qs[: LIMIT + 1])
        truncated = len(rows) > LIMIT
        rows = rows[:LIMIT]
    _detail_urls(account, rows)
    if found:
        _detail_urls(account, found)
    query = request.GET.urlencode()
    base = url_pattern("upscope:visitors", "account_id").format(account_id=account.pk)
    return render_page(
        request,
        "upscope/visitors.html",
        page_context(
            request,
            account,
            form=form,
            rows=rows,
            truncated=truncated,
            limit=LIMIT,
            found=found,
            search_error=error,
            refreshed_at=timezone.now(),
            poll_url=base + (f"?{query}" if query else ""),
        ),
        partial="table",
        status=status,
    )


@role_required(Role.AGENT)
def visitors_online(request, account_id: int):
    account = upscope_account(request, account_id)
    form = VisitorSearchForm(request.GET)
    return _visitors_page(request, account, form)


@role_required(Role.AGENT)
@require_POST
def visitors_search(request, account_id: int):
    """Ask Upscope itself (its fuzzy search over every region): the visitors
    found are stored, so they also show in the list from then on."""
    account = upscope_account(request, account_id)
    form = VisitorSearchForm(request.POST)
    found, error, status = None, "", 200
    if form.is_valid():
        try:
            parse_search(form.cleaned_data["q"])
        except ValueError:
            pass  # the page's own check says it next to the box
        else:
            try:
                found = services.search_visitors(account, form.cleaned_data["q"])
            except VendorError as exc:
                error = failure_text(exc, account.spec.label)
                status = refused_status(exc)
    page = _visitors_page(request, account, form, found=found, error=error)
    if page.status_code == 200:
        page.status_code = status
    return page


# --- one visitor -------------------------------------------------------------------
def _detail(request, account, visitor, *, status=200, **extra):
    rows = list(
        sessions(account)
        .filter(visitor_short_id=visitor.external_id)
        .defer("raw", "fingerprint", "metadata", "features_used")
        .order_by("-started_at", "-id")[:VISITOR_SESSIONS]
    )
    pattern = url_pattern("upscope:session_detail", "account_id", "pk")
    for row in rows:
        row.detail_url = pattern.format(account_id=account.pk, pk=row.pk)
    agent_id, agent_name = services.agent_for(account, request.user)
    return render_page(
        request,
        "upscope/visitor_detail.html",
        page_context(
            request,
            account,
            visitor=visitor,
            sessions=rows,
            ongoing=any(r.is_ongoing for r in rows),
            watch_form=extra.pop("watch_form", None) or WatchForm(),
            agent_id=agent_id,
            agent_name=agent_name,
            **extra,
        ),
        status=status,
    )


@role_required(Role.AGENT)
def visitor_detail(request, account_id: int, pk: int):
    account = upscope_account(request, account_id)
    return _detail(request, account, visitor_or_404(account, pk))


@role_required(Role.AGENT)
@require_POST
def visitor_watch(request, account_id: int, pk: int):
    """Make a watch link for the signed-in agent and send them to it at once
    (the link lasts minutes and is never stored, as Upscope asks)."""
    account = upscope_account(request, account_id)
    visitor = visitor_or_404(account, pk)
    form = WatchForm(request.POST, vendor_label=account.spec.label)
    if not form.is_valid():
        return _detail(request, account, visitor, status=422, watch_form=form)
    agent_id, agent_name = services.agent_for(account, request.user)
    try:
        link = services.start_watch(
            account,
            visitor,
            agent_id=agent_id,
            agent_name=agent_name,
            webhook_url=receiver_url(account, request),
            **form.watch_options(),
        )
    except VendorError as exc:
        form.add_vendor_error(exc)
        return _detail(
            request, account, visitor, status=refused_status(exc), watch_form=form
        )
    target = safe_url(link.watch_url)
    if not target:
        form.add_error(None, f"{account.spec.label} sent no usable watch link.")
        return _detail(request, account, visitor, status=422, watch_form=form)
    # A page that goes on to the link (a meta refresh), not a redirect: the
    # site's CSP (`form-action 'self'`) stops a form's redirect to another
    # host, and the watch link is Upscope's own page.
    response = render_page(
        request,
        "upscope/watch_open.html",
        page_context(
            request,
            account,
            visitor=visitor,
            watch_url=target,
            expires_at=link.expires_at,
        ),
    )
    response["Cache-Control"] = "no-store"  # the link must not be kept
    return response


@role_required(Role.AGENT)
@require_POST
def visitor_stop(request, account_id: int, pk: int):
    account = upscope_account(request, account_id)
    visitor = visitor_or_404(account, pk)
    write = Write(
        account, services.stop_session, f"Stop the session of {visitor}", visitor
    )
    done, _answer = attempt(request, write, "stopped")
    if done:
        messages.info(request, STOP_REQUESTED)
    return redirect("upscope:visitor_detail", account_id=account.pk, pk=visitor.pk)


@role_required(Role.AGENT)
@require_POST
def visitor_refresh(request, account_id: int, pk: int):
    """Read the visitor and its last 50 sessions from Upscope again."""
    account = upscope_account(request, account_id)
    visitor = visitor_or_404(account, pk)
    try:
        services.refresh_visitor(account, visitor)
    except VendorError as exc:
        report_failure(request, exc, "refreshed", account.spec.label)
        if not visitors(account).filter(pk=visitor.pk).exists():
            return redirect("upscope:visitors", account_id=account.pk)
    else:
        messages.success(request, f"{visitor} refreshed from Upscope.")
    return redirect("upscope:visitor_detail", account_id=account.pk, pk=visitor.pk)


@role_required(Role.AGENT)
@require_POST
def visitor_onpremise(request, account_id: int, pk: int):
    """An on-premise session token for the signed-in agent, shown once."""
    account = upscope_account(request, account_id)
    visitor = visitor_or_404(account, pk)
    agent_id, agent_name = services.agent_for(account, request.user)
    try:
        token = services.authorize_onpremise(
            account, visitor, agent_id=agent_id, agent_name=agent_name
        )
    except VendorError as exc:
        return _detail(
            request,
            account,
            visitor,
            status=refused_status(exc),
            onpremise_error=failure_text(exc, account.spec.label),
        )
    return _detail(request, account, visitor, onpremise=token)


@role_required(Role.ADMIN)
def visitor_delete(request, account_id: int, pk: int):
    """Confirm, then delete the visitor's data at Upscope (admins only)."""
    account = upscope_account(request, account_id)
    visitor = visitor_or_404(account, pk)
    form = DeleteOfflineForm(request.POST or None)
    form.fields["confirm"].label = (
        f"I understand: Upscope deletes {visitor} entirely (identity, tags, "
        "history), and this cannot be undone."
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            write = Write(
                account, services.delete_visitor, f"Delete visitor {visitor}", visitor
            )
            done, answer = attempt(request, write, "deleted")
            if done:
                messages.success(request, answer)
                return redirect("upscope:visitors", account_id=account.pk)
            if write.failure is not None and write.failure.transient:
                return redirect("upscope:visitors", account_id=account.pk)
            status = 422
        else:
            status = 422
    return render_page(
        request,
        "upscope/confirm_delete.html",
        page_context(
            request,
            account,
            form=form,
            visitor=visitor,
            title=f"Delete visitor {visitor}",
            action=reverse("upscope:visitor_delete", args=[account.pk, visitor.pk]),
            back=reverse("upscope:visitor_detail", args=[account.pk, visitor.pk]),
        ),
        status=status,
    )


@role_required(Role.ADMIN)
def visitors_delete_offline(request, account_id: int):
    """Confirm, then have Upscope delete every offline visitor (admins only)."""
    account = upscope_account(request, account_id)
    form = DeleteOfflineForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            write = Write(
                account,
                services.delete_offline_visitors,
                "Delete every offline visitor",
            )
            done, removed = attempt(request, write, "deleted")
            if done:
                messages.success(
                    request,
                    "Upscope is deleting every offline visitor (it does so in the "
                    f"background); {removed} stored offline visitors marked removed.",
                )
                return redirect("upscope:visitors", account_id=account.pk)
            if write.failure is not None and write.failure.transient:
                return redirect("upscope:visitors", account_id=account.pk)
        status = 422
    return render_page(
        request,
        "upscope/confirm_delete.html",
        page_context(
            request,
            account,
            form=form,
            title="Delete every offline visitor",
            explain=(
                "Upscope deletes every visitor who is not online at this moment, "
                "with all their data (identity, tags, history). Visitors online "
                "now are kept. It cannot be undone."
            ),
            action=reverse("upscope:visitors_delete_offline", args=[account.pk]),
            back=reverse("upscope:visitors", args=[account.pk]),
        ),
        status=status,
    )
