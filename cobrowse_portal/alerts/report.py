"""The "Open alerts" section of scheduled reports (reports.sections registry):
what is open now in the report's workspaces, and what the period opened and
resolved."""

from __future__ import annotations

from django.db.models import Q

from .models import Alert, AlertStatus


def open_alerts(scope) -> list[dict]:
    zone = scope.period.zone
    start, end = scope.period.start, scope.period.end

    def when(value) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""

    rows = (
        Alert.objects.filter(workspace_id__in=scope.workspace_ids)
        .filter(
            Q(status=AlertStatus.OPEN) | Q(first_seen__lt=end, resolved_at__gte=start)
        )
        .select_related("workspace")
        .order_by("status", "-last_seen", "-id")
    )
    return [
        {
            "title": "Open alerts",
            "columns": [
                "Workspace",
                "Alert",
                "About",
                "First seen",
                "Last seen",
                "Resolved",
                "Acknowledged",
            ],
            "rows": [
                [
                    a.workspace.name,
                    a.rule_label,
                    a.subject,
                    when(a.first_seen),
                    when(a.last_seen),
                    when(a.resolved_at),
                    "yes" if a.acknowledged_at else "",
                ]
                for a in rows
            ],
        }
    ]
