"""Chats (agents and up: the control room links a chat's transcript), leads and
the chat statistics (managers)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.urlcache import url_pattern
from cobrowse_portal.core.vendorforms import report_failure
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import (
    ChatFilterForm,
    LeadFilterForm,
    StatsRangeForm,
    day_end,
    day_start,
)
from ..models import (
    ServiceformChat,
    ServiceformChatStatDay,
    ServiceformLead,
    ServiceformMessage,
)
from .common import page, page_context, serviceform_account

#: Messages shown on one transcript page (a longer chat says so).
TRANSCRIPT_MAX = 2000


def _chats(account):
    return ServiceformChat.objects.filter(account=account, removed_at__isnull=True)


# --- chats ------------------------------------------------------------------------
@role_required(Role.AGENT)
def chat_list(request, account_id: int):
    account = serviceform_account(request, account_id)
    form = ChatFilterForm(request.GET or None)
    qs = _chats(account).defer(*ServiceformChat.LIST_DEFER)
    filtered = False
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["kind"] == "chatbot":
            qs = qs.filter(is_chatbot=True)
        elif data["kind"] == "human":
            qs = qs.filter(is_chatbot=False)
        if data["since"]:
            qs = qs.filter(started_at__gte=day_start(data["since"]))
        if data["until"]:
            qs = qs.filter(started_at__lt=day_end(data["until"]))
        agent = data["agent"].strip()
        if agent:
            qs = qs.filter(Q(agent_name__iexact=agent) | Q(agent_external_id=agent))
        if data["min_rating"] is not None:
            qs = qs.filter(rating__gte=float(data["min_rating"]))
        q = data["q"].strip()
        if q:
            qs = qs.filter(
                Q(visitor_uid=q)
                | Q(visitor_email__iexact=q)
                | Q(visitor_name__icontains=q)
            )
        filtered = any(v not in (None, "") for v in data.values())
    result = page(qs, request.GET, "started_at")
    pattern = url_pattern("serviceform:chat", "account_id", "pk")
    for row in result.rows:
        row.detail_url = pattern.format(account_id=account.pk, pk=row.pk)
    has_any = bool(result.rows) or (filtered and _chats(account).exists())
    return render_page(
        request,
        "serviceform/chats.html",
        page_context(request, account, form=form, page=result, has_any=has_any),
        partial="results",
    )


@role_required(Role.AGENT)
def chat_detail(request, account_id: int, pk: int):
    """A chat's transcript, in order (the control room's link)."""
    account = serviceform_account(request, account_id)
    chat = get_object_or_404(_chats(account).defer("raw", "fingerprint"), pk=pk)
    rows = list(
        ServiceformMessage.objects.filter(chat=chat, removed_at__isnull=True)
        .defer("raw", "fingerprint")
        .order_by("position", "id")[: TRANSCRIPT_MAX + 1]
    )
    return render_page(
        request,
        "serviceform/chat_detail.html",
        page_context(
            request,
            account,
            chat=chat,
            transcript=rows[:TRANSCRIPT_MAX],
            cut=len(rows) > TRANSCRIPT_MAX,
        ),
    )


@role_required(Role.AGENT)
@require_POST
def chat_refresh(request, account_id: int, pk: int):
    """Read the chat and its transcript again from Serviceform."""
    account = serviceform_account(request, account_id)
    chat = get_object_or_404(_chats(account), pk=pk)
    try:
        services.refresh_chat(account, chat)
    except VendorError as exc:
        report_failure(request, exc, "refreshed", account.spec.label)
    else:
        messages.success(request, f"Chat read again from {account.spec.label}.")
    return redirect("serviceform:chat", account_id=account.pk, pk=chat.pk)


# --- leads ------------------------------------------------------------------------
@role_required(Role.MANAGER)
def lead_list(request, account_id: int):
    account = serviceform_account(request, account_id)
    form = LeadFilterForm(request.GET or None)
    base = ServiceformLead.objects.filter(account=account, removed_at__isnull=True)
    qs = base.defer(*ServiceformLead.LIST_DEFER)
    filtered = False
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        q = data["q"].strip()
        if q:
            qs = qs.filter(
                Q(email__iexact=q)
                | Q(name__icontains=q)
                | Q(first_name__icontains=q)
                | Q(last_name__icontains=q)
                | Q(phone__icontains=q)
            )
        if data["form_name"].strip():
            qs = qs.filter(form_name__iexact=data["form_name"].strip())
        if data["source"].strip():
            qs = qs.filter(source__iexact=data["source"].strip())
        if data["since"]:
            qs = qs.filter(created__gte=day_start(data["since"]))
        if data["until"]:
            qs = qs.filter(created__lt=day_end(data["until"]))
        filtered = any(v not in (None, "") for v in data.values())
    result = page(qs, request.GET, "created")
    has_any = bool(result.rows) or (filtered and base.exists())
    return render_page(
        request,
        "serviceform/leads.html",
        page_context(request, account, form=form, page=result, has_any=has_any),
        partial="results",
    )


# --- chat statistics ----------------------------------------------------------------
#: The charts: (id, label, [(column, dataset label)]).
CHARTS = (
    ("chats", "Chats", [("chatbot_chats", "Chatbot"), ("human_chats", "Human")]),
    ("messages", "Messages", [("messages", "Messages")]),
    (
        "response",
        "Average first response (seconds)",
        [("avg_response_seconds", "First response")],
    ),
    ("rating", "Average rating (of 5)", [("rating", "Rating")]),
)


def stats_chart(days, rows) -> dict:
    """The Usage page's chart data (static/js/charts.js): one value per day of
    the range (None where no figure is stored: a gap, not a zero)."""
    by_day = {r.day: r for r in rows}
    charts = []
    for chart_id, label, sets in CHARTS:
        datasets = []
        for column, name in sets:
            datasets.append(
                {
                    "label": name,
                    "data": [
                        getattr(by_day[d], column) if d in by_day else None
                        for d in days
                    ],
                }
            )
        charts.append({"id": chart_id, "label": label, "datasets": datasets})
    return {"labels": [d.isoformat() for d in days], "charts": charts, "type": "day"}


def stats_totals(rows) -> dict:
    """The range's totals: sums of the counts, chat-weighted averages of the
    per-day averages (a day without a chat count counts once)."""

    def total(column):
        values = [getattr(r, column) for r in rows if getattr(r, column) is not None]
        return sum(values) if values else None

    def weighted(column):
        pairs = [
            (getattr(r, column), r.chats if r.chats else 1)
            for r in rows
            if getattr(r, column) is not None
        ]
        weight = sum(w for _, w in pairs)
        return sum(v * w for v, w in pairs) / weight if weight else None

    return {
        "chats": total("chats"),
        "chatbot_chats": total("chatbot_chats"),
        "human_chats": total("human_chats"),
        "messages": total("messages"),
        "avg_duration": weighted("avg_duration"),
        "avg_response_seconds": weighted("avg_response_seconds"),
        "rating": weighted("rating"),
    }


@role_required(Role.MANAGER)
def statistics(request, account_id: int):
    account = serviceform_account(request, account_id)
    form = StatsRangeForm(request.GET or None)
    since, until = form.window(timezone.localdate())
    rows = list(
        ServiceformChatStatDay.objects.filter(
            account=account, removed_at__isnull=True, day__gte=since, day__lte=until
        )
        .defer("raw", "fingerprint", "metrics")
        .order_by("day")
    )
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    return render_page(
        request,
        "serviceform/statistics.html",
        page_context(
            request,
            account,
            form=form,
            since=since,
            until=until,
            rows=rows,
            chart=stats_chart(days, rows),
            charts=CHARTS,
            totals=stats_totals(rows),
        ),
    )
