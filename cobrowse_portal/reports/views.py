"""Report pages (managers and admins of the workspace): definitions, runs, a
run's page and CSV, preview, send now; and the Outbox of sent messages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.permissions import role_required

from . import engine
from .forms import DefinitionForm
from .mail import backend_description, parse_file, writes_outbox_files
from .models import OutboxMessage, ReportDefinition, ReportRun, RunState, RunTrigger

RUNS_SHOWN = 50
OUTBOX_SHOWN = 100


def _definition_of(request, definition_id: int) -> ReportDefinition:
    return get_object_or_404(
        ReportDefinition.objects.select_related("workspace"),
        pk=definition_id,
        workspace=request.workspace,
    )


def _run_of(request, report_run_id: int) -> ReportRun:
    return get_object_or_404(
        ReportRun.objects.select_related("definition", "workspace"),
        pk=report_run_id,
        workspace=request.workspace,
    )


@role_required(Role.MANAGER)
def definition_list(request):
    definitions = list(
        ReportDefinition.objects.filter(workspace=request.workspace).order_by(
            "name", "pk"
        )
    )
    last = {}
    for run in ReportRun.objects.filter(definition__in=definitions).order_by(
        "definition_id", "-created_at", "-pk"
    ):
        last.setdefault(run.definition_id, run)
    for definition in definitions:
        definition.last_run = last.get(definition.pk)
    return render(request, "reports/definition_list.html", {"definitions": definitions})


def _form_page(request, form, definition=None):
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        if saved.created_by_id is None:
            saved.created_by = request.user
        saved.save()
        messages.success(
            request, f"Report “{saved.name}” saved: {saved.schedule_text}."
        )
        return redirect("reports:definition", definition_id=saved.pk)
    return render(
        request,
        "reports/definition_form.html",
        {"form": form, "definition": definition},
        status=400 if form.errors else 200,
    )


@role_required(Role.MANAGER)
def definition_create(request):
    form = DefinitionForm(request.POST or None, workspace=request.workspace)
    return _form_page(request, form)


@role_required(Role.MANAGER)
def definition_edit(request, definition_id: int):
    definition = _definition_of(request, definition_id)
    form = DefinitionForm(
        request.POST or None, instance=definition, workspace=request.workspace
    )
    return _form_page(request, form, definition)


@role_required(Role.MANAGER)
def definition_delete(request, definition_id: int):
    definition = _definition_of(request, definition_id)
    if request.method == "POST":
        name = definition.name
        definition.delete()
        messages.success(request, f"Report “{name}” deleted.")
        return redirect("reports:definitions")
    return render(request, "reports/definition_delete.html", {"definition": definition})


@role_required(Role.MANAGER)
def definition_runs(request, definition_id: int):
    definition = _definition_of(request, definition_id)
    runs = definition.runs.order_by("-created_at", "-pk")[:RUNS_SHOWN]
    return render(
        request,
        "reports/definition_runs.html",
        {"definition": definition, "runs": runs},
    )


@role_required(Role.MANAGER)
def preview(request, definition_id: int):
    """The report of the last complete period, computed now: nothing stored or sent."""
    definition = _definition_of(request, definition_id)
    period = engine.period_for(definition)
    figures = engine.compute(definition, period)
    return render(
        request,
        "reports/run_detail.html",
        {"definition": definition, "figures": figures, "preview": True},
    )


@role_required(Role.MANAGER)
@require_POST
def send_now(request, definition_id: int):
    definition = _definition_of(request, definition_id)
    run = engine.deliver(definition, RunTrigger.MANUAL)
    if run.status == RunState.SENT:
        messages.success(
            request, f"Report sent to {', '.join(definition.recipient_list)}."
        )
    else:
        messages.error(request, f"The report was stored but not sent: {run.error}")
    return redirect("reports:run", report_run_id=run.pk)


@role_required(Role.MANAGER)
def run_detail(request, report_run_id: int):
    run = _run_of(request, report_run_id)
    return render(
        request,
        "reports/run_detail.html",
        {
            "definition": run.definition,
            "run": run,
            "figures": run.figures,
            "messages_sent": run.messages.order_by("-sent_at"),
        },
    )


@role_required(Role.MANAGER)
def run_csv(request, report_run_id: int):
    run = _run_of(request, report_run_id)
    response = HttpResponse(
        engine.as_csv(run.figures), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{engine.csv_name(run.figures)}"'
    )
    return response


@role_required(Role.MANAGER)
def outbox(request):
    rows = list(
        OutboxMessage.objects.filter(workspace=request.workspace)
        .select_related("run")
        .order_by("-sent_at", "-pk")[:OUTBOX_SHOWN]
    )
    files = writes_outbox_files()
    for row in rows:
        row.parsed = parse_file(row.file_name) if row.file_name else None
    return render(
        request,
        "reports/outbox.html",
        {"rows": rows, "files": files, "backend": backend_description()},
    )


@role_required(Role.MANAGER)
def outbox_message(request, message_id: int):
    row = get_object_or_404(
        OutboxMessage.objects.select_related("run"),
        pk=message_id,
        workspace=request.workspace,
    )
    parsed = parse_file(row.file_name) if row.file_name else None
    return render(
        request,
        "reports/outbox_message.html",
        {"row": row, "parsed": parsed, "backend": backend_description()},
    )
