"""The Alerts page (open first, then resolved; acknowledge) and the workspace's
alert settings."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cobrowse_portal.core import pagecache
from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.permissions import role_required

from .forms import AlertSettingsForm
from .models import Alert, AlertSettings, AlertStatus

#: Resolved alerts shown (the newest); open ones are all shown.
RESOLVED_SHOWN = 200
FILTERS = {"open": "Open", "resolved": "Resolved", "all": "All"}


@role_required(Role.MANAGER)
def alert_list(request):
    shown = request.GET.get("status") or "all"
    if shown not in FILTERS:
        shown = "all"
    alerts = Alert.objects.filter(workspace=request.workspace).select_related(
        "acknowledged_by"
    )
    open_alerts = resolved = []
    if shown in ("open", "all"):
        open_alerts = list(
            alerts.filter(status=AlertStatus.OPEN).order_by("-last_seen", "-pk")
        )
    if shown in ("resolved", "all"):
        resolved = list(
            alerts.filter(status=AlertStatus.RESOLVED).order_by("-resolved_at", "-pk")[
                :RESOLVED_SHOWN
            ]
        )
    return render(
        request,
        "alerts/list.html",
        {
            "alerts": [*open_alerts, *resolved],
            "shown": shown,
            "filters": FILTERS,
            "resolved_shown": RESOLVED_SHOWN,
        },
    )


@role_required(Role.MANAGER)
@require_POST
def acknowledge(request, alert_id: int):
    alert = get_object_or_404(Alert, pk=alert_id, workspace=request.workspace)
    if not alert.is_open:
        messages.info(request, "That alert is already resolved.")
    elif alert.acknowledged_at:
        messages.info(request, "That alert was already acknowledged.")
    else:
        Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=request.user
        )
        pagecache.bump([request.workspace.pk])  # the kept dashboard says so
        messages.success(
            request, f"Acknowledged: {alert.subject}. No more reminders for it."
        )
    return redirect("alerts:list")


@role_required(Role.ADMIN)
def alert_settings(request):
    instance = AlertSettings.for_workspace(request.workspace)
    form = AlertSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Alert settings saved.")
        return redirect("alerts:settings")
    return render(
        request,
        "alerts/settings.html",
        {"form": form, "default_recipients": instance.recipient_list()},
        status=400 if form.errors else 200,
    )
