"""The agent directory: one row per person, a column per vendor account that feeds
the directory, who is missing where, the unlinked rows, and hand-made links."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from ..choices import Role
from ..directory import link_agent, unlink_agent
from ..htmx import render_page
from ..models import Activity, AgentIdentity, VendorAgent
from ..pagecache import cached_page
from ..permissions import role_required, workspace_accounts
from .control import vendor_label, workspace_tz

#: People listed on one page (a directory is hundreds, not millions).
MAX_PEOPLE = 2000


def _id(raw) -> int | None:
    # User input: never let "abc" (or "²", a digit int() refuses) reach the ORM.
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


@role_required(Role.MANAGER)
@cached_page(bucket=10)
def agents(request):
    workspace = request.workspace
    rows = list(
        VendorAgent.objects.filter(workspace=workspace, removed_at__isnull=True).only(
            "id",
            "account_id",
            "vendor",
            "external_id",
            "identity_id",
            "linked_by_hand",
            "name",
            "email",
            "role",
            "available",
            "free",
            "last_activity_at",
        )
    )
    feeding = {r.account_id for r in rows}
    columns = [
        {"account": a, "label": f"{vendor_label(a.vendor)} · {a.name}"}
        for a in workspace_accounts(request)
        if a.pk in feeding
    ]
    people = list(
        AgentIdentity.objects.filter(workspace=workspace).order_by("name", "email")[
            : MAX_PEOPLE + 1
        ]
    )
    truncated = len(people) > MAX_PEOPLE
    people = people[:MAX_PEOPLE]
    since = timezone.now() - timedelta(days=30)
    recent = dict(
        Activity.objects.filter(
            workspace=workspace,
            removed_at__isnull=True,
            agent__isnull=False,
            started_at__gte=since,
        )
        .values("agent")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("agent", "n")
    )
    by_identity: dict[int, dict[int, VendorAgent]] = {}
    unlinked = []
    for r in rows:
        if r.identity_id is None:
            unlinked.append(r)
        else:
            by_identity.setdefault(r.identity_id, {})[r.account_id] = r
    names = {c["account"].pk: c["label"] for c in columns}
    for r in unlinked:
        r.account_label = names.get(r.account_id, r.vendor)
    only_missing = request.GET.get("missing") == "1"
    directory = []
    for person in people:
        linked = by_identity.get(person.pk, {})
        cells = [linked.get(c["account"].pk) for c in columns]
        missing = [
            c["label"] for c, cell in zip(columns, cells, strict=True) if not cell
        ]
        if only_missing and not missing:
            continue
        directory.append(
            {
                "person": person,
                "cells": cells,
                "missing": missing,
                "recent": recent.get(person.pk, 0),
            }
        )
    with timezone.override(workspace_tz(workspace)):
        return render_page(
            request,
            "core/control/agents.html",
            {
                "columns": columns,
                "directory": directory,
                "unlinked": unlinked,
                "people": people,
                "only_missing": only_missing,
                "truncated": truncated,
            },
        )


def _vendor_agent(request):
    pk = _id(request.POST.get("vendor_agent"))
    if pk is None:
        return None
    return (
        VendorAgent.objects.filter(workspace=request.workspace, pk=pk)
        .select_related("identity")
        .first()
    )


@role_required(Role.MANAGER)
@require_POST
def agent_link(request):
    row = _vendor_agent(request)
    pk = _id(request.POST.get("identity"))
    identity = (
        AgentIdentity.objects.filter(workspace=request.workspace, pk=pk).first()
        if pk is not None
        else None
    )
    if row is None or identity is None:
        messages.error(request, "Pick an agent row and a person of this workspace.")
    else:
        link_agent(row, identity)
        messages.success(request, f"{row} is now linked to {identity}.")
    return redirect("core:agents")


@role_required(Role.MANAGER)
@require_POST
def agent_unlink(request):
    row = _vendor_agent(request)
    if row is None:
        messages.error(request, "No such agent row in this workspace.")
    else:
        unlink_agent(row)
        messages.success(request, f"{row} is no longer linked to anyone.")
    return redirect("core:agents")
