"""The sync run log: list with filters (keyset paginated) and run detail."""

from __future__ import annotations

from datetime import datetime, time

from django.shortcuts import render
from django.utils import timezone

from cobrowse_portal.vendorkit import ratebudget, reconciliation

from ..choices import Role
from ..forms import RunFilterForm
from ..htmx import is_partial, render_page
from ..models import SyncRun
from ..pagination import keyset_page
from ..permissions import role_required
from .accounts import get_run


@role_required(Role.MANAGER)
def run_list(request):
    form = RunFilterForm(request.GET or None, workspace=request.workspace)
    qs = SyncRun.objects.filter(account__workspace=request.workspace).select_related(
        "account"
    )
    if form.is_valid():
        data = form.cleaned_data
        if data["account"]:
            qs = qs.filter(account=data["account"])
        if data["stream"]:
            qs = qs.filter(stream=data["stream"])
        if data["status"]:
            qs = qs.filter(status=data["status"])
        tz = timezone.get_current_timezone()
        if data["since"]:
            qs = qs.filter(queued_at__gte=datetime.combine(data["since"], time.min, tz))
        if data["until"]:
            qs = qs.filter(queued_at__lte=datetime.combine(data["until"], time.max, tz))
    page = keyset_page(qs, request.GET, "queued_at")
    streams = sorted(
        {s.name for a in request.workspace.accounts.all() for s in a.spec.streams}
    )
    context = {"form": form, "page": page, "streams": streams}
    if not is_partial(request):
        # The budget of the workspace's own hosts only (the filter's fragment
        # leaves the charts alone, so it does not read them).
        accounts = list(request.workspace.accounts.order_by("vendor", "name"))
        context["rate"] = ratebudget.last_day(accounts)
        context["recon"] = reconciliation.figures(accounts)
    return render_page(request, "core/run_list.html", context, partial="results")


@role_required(Role.MANAGER)
def run_detail(request, run_id: int):
    return render(request, "core/run_detail.html", {"run": get_run(request, run_id)})
