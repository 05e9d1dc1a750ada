"""Reseller pages: clients, the new-client flow, a run's live status page with
retry / abandon / remove, removing a client, and offboarding a person."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.models import AgentIdentity, Workspace
from cobrowse_portal.core.permissions import reseller_required, role_required

from . import engine
from .forms import NewClientForm
from .models import ProvisioningRun, ProvisioningStep, RunKind, StepStatus

RECENT_RUNS = 20


def _client_of(request, client_id: int) -> Workspace:
    return get_object_or_404(Workspace, pk=client_id, parent=request.workspace)


def _run_of(request, prun_id: int) -> ProvisioningRun:
    return get_object_or_404(
        ProvisioningRun.objects.select_related("client", "identity", "source"),
        pk=prun_id,
        workspace=request.workspace,
    )


@role_required(Role.MANAGER)
@reseller_required
def client_list(request):
    reseller = request.workspace
    clients = (
        Workspace.objects.filter(parent=reseller)
        .annotate(
            n_accounts=Count(
                "accounts", filter=Q(accounts__enabled=True), distinct=True
            )
        )
        .order_by("archived_at", "name")
    )
    runs = (
        ProvisioningRun.objects.filter(workspace=reseller)
        .select_related("client")
        .order_by("-created_at", "-pk")[:RECENT_RUNS]
    )
    return render(
        request,
        "provisioning/client_list.html",
        {"clients": clients, "runs": runs},
    )


@role_required(Role.MANAGER)
@reseller_required
def client_new(request):
    reseller = request.workspace
    form = NewClientForm(request.POST or None, reseller=reseller)
    if request.method == "POST" and form.is_valid():
        run = engine.start_provisioning(
            reseller, request.user, form.client_fields(), form.vendor_choices()
        )
        messages.success(
            request, f"Provisioning {run.subject} at {run.steps.count()} vendors…"
        )
        return redirect("provisioning:run", prun_id=run.pk)
    return render(
        request,
        "provisioning/client_new.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _run_context(run: ProvisioningRun) -> dict:
    steps = list(run.steps.select_related("account").order_by("position", "pk"))
    made = [(s, m) for s in steps for m in s.made]
    return {
        "run": run,
        "steps": steps,
        "made": made,
        "removable": [
            s
            for s in steps
            if s.status == StepStatus.ABANDONED
            and (s.made or s.state.get("account_id"))
        ],
        "undo_runs": list(run.undo_runs.order_by("-pk")),
    }


@role_required(Role.MANAGER)
def run_detail(request, prun_id: int):
    """The run page; htmx polls its status block while steps are waiting or
    running (answering 286, stop polling, once they are not)."""
    run = _run_of(request, prun_id)
    context = _run_context(run)
    if request.htmx and request.GET.get("part") == "steps":
        response = render(request, "provisioning/_run_steps.html", context)
        if not run.is_active:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "provisioning/run_detail.html", context)


@role_required(Role.MANAGER)
@require_POST
def step_action(request, prun_id: int, step_id: int, action: str):
    run = _run_of(request, prun_id)
    step = get_object_or_404(ProvisioningStep, pk=step_id, run=run)
    if action == "retry":
        done = engine.retry(step)
        said = f"Retrying {step.label}…" if done else "This step cannot be retried."
    elif action == "abandon":
        done = engine.abandon(step)
        said = f"{step.label} abandoned." if done else "This step cannot be abandoned."
    elif action == "remove":
        if step.status != StepStatus.ABANDONED:
            done, said = False, "Only an abandoned step's creations can be removed."
        else:
            undo = engine.start_undo(run, request.user, step)
            messages.info(request, f"Removing what {step.label} made…")
            return redirect("provisioning:run", prun_id=undo.pk)
    else:
        raise Http404("no such action")
    (messages.success if done else messages.error)(request, said)
    return redirect("provisioning:run", prun_id=run.pk)


@role_required(Role.MANAGER)
@require_POST
def run_action(request, prun_id: int, action: str):
    run = _run_of(request, prun_id)
    if action == "abandon":
        n = engine.abandon_run(run)
        messages.success(request, f"Run abandoned ({n} steps stopped).")
        return redirect("provisioning:run", prun_id=run.pk)
    if action == "remove":
        if run.status != "abandoned" or run.kind != RunKind.PROVISION:
            messages.error(request, "Only an abandoned new-client run can be removed.")
            return redirect("provisioning:run", prun_id=run.pk)
        undo = engine.start_undo(run, request.user)
        messages.info(request, "Removing everything the run made…")
        return redirect("provisioning:run", prun_id=undo.pk)
    raise Http404("no such action")


@role_required(Role.MANAGER)
@reseller_required
def client_remove(request, client_id: int):
    """What the client has at each vendor, and a button that removes it all
    (the workspace is archived once every step is done)."""
    reseller = request.workspace
    client = _client_of(request, client_id)
    if request.method == "POST":
        if client.archived_at is not None:
            messages.error(request, f"{client.name} is archived already.")
            return redirect("provisioning:clients")
        run = engine.start_deprovisioning(reseller, request.user, client)
        return redirect("provisioning:run", prun_id=run.pk)
    return render(
        request,
        "provisioning/client_remove.html",
        {"client": client, "plan": engine.removal_plan(client)},
    )


@role_required(Role.MANAGER)
def offboard(request, identity_id: int):
    """One person at every vendor where the directory has them: removed there."""
    identity = get_object_or_404(
        AgentIdentity, pk=identity_id, workspace=request.workspace
    )
    targets = engine.offboard_targets(request.workspace, identity)
    if request.method == "POST":
        if not targets:
            messages.error(request, "Nothing left to remove for this person.")
            return redirect("core:agents")
        run = engine.start_offboarding(request.workspace, request.user, identity)
        return redirect("provisioning:run", prun_id=run.pk)
    return render(
        request,
        "provisioning/offboard.html",
        {"identity": identity, "targets": targets},
    )
