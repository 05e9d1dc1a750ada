"""The dashboard and the workspace switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from ..choices import Role, RunStatus, WriteStatus
from ..htmx import render_page
from ..middleware import switch_workspace
from ..models import SyncRun, workspaces_for
from ..pagecache import cached_page
from ..permissions import has_role, may_open, role_required
from ..schedules import schedules_by_account
from .control import spec_for
from .control_kpi import kpi_tiles


def _health_cards(request, accounts) -> list[dict]:
    """Each account's health, last and next sync and the vendor's own figures
    (from the local database: never a vendor call). A constant number of queries
    whatever the accounts: the schedules of all of them in one, and each vendor's
    figures for all its accounts in one call."""
    specs = {account.vendor: spec_for(account.vendor) for account in accounts}
    known = [account for account in accounts if specs[account.vendor] is not None]
    schedules = schedules_by_account(known, with_runs=False)
    figures_of: dict[int, list[dict]] = {}
    for vendor, spec in specs.items():
        if spec is not None and spec.dashboard_figures:
            mine = [account for account in known if account.vendor == vendor]
            figures_of.update(import_string(spec.dashboard_figures)(mine))
    cards = []
    for account in accounts:
        spec = specs[account.vendor]
        due = [s["next_due"] for s in schedules.get(account.pk, ()) if s["next_due"]]
        if account.needs_attention:
            due = []  # runs are skipped until the credentials change
        figures = figures_of.get(account.pk, [])
        for figure in figures:
            # Link a figure only to a page this role may open.
            if figure.get("url") and not may_open(request, figure["url"]):
                figure["url"] = ""
        cards.append(
            {
                "account": account,
                "label": spec.label if spec else account.vendor,
                "next_due": min(due) if due else None,
                "figures": figures,
            }
        )
    return cards


@role_required(Role.AGENT)
@cached_page(bucket=10)
def dashboard(request):
    accounts = list(
        request.workspace.accounts.order_by("vendor", "name", "pk").annotate(
            writes_waiting=Count(
                "pending_writes",
                filter=Q(
                    pending_writes__status__in=[WriteStatus.PENDING, WriteStatus.FAILED]
                ),
            )
        )
    )
    request._workspace_accounts = accounts  # the sidebar reads these, not again
    manager = has_role(request, Role.MANAGER)
    failed = []
    if manager:
        failed = (
            SyncRun.objects.filter(
                account__workspace=request.workspace, status=RunStatus.FAILED
            )
            .select_related("account")
            .order_by("-queued_at")[:10]
        )
    return render_page(
        request,
        "core/dashboard.html",
        {
            "tiles": kpi_tiles(request.workspace, accounts, with_runs=manager),
            "cards": _health_cards(request, accounts),
            "failed_runs": failed,
        },
        partial="cards",
    )


@login_required
@require_POST
def switch(request):
    raw = request.POST.get("workspace", "")
    workspace = None
    # User input: never let "abc" (or "²", a digit int() refuses) reach the ORM.
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        workspace = workspaces_for(request.user).filter(pk=int(raw)).first()
    if workspace is None:
        raise Http404("no such workspace")
    switch_workspace(request, workspace)
    # Back to the dashboard: the page we came from may belong to the old workspace.
    return redirect("core:dashboard")
