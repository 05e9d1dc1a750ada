"""`{% dashboard_alerts %}`: the dashboard's open alerts in one indexed query."""

from __future__ import annotations

from django import template
from django.db.models import Count, Window

from ..models import Alert, AlertStatus

register = template.Library()

#: The newest open alerts the dashboard lists (the count covers all).
SHOWN = 5


@register.inclusion_tag("alerts/_dashboard_panel.html", takes_context=True)
def dashboard_alerts(context):
    request = context["request"]
    # One statement: the newest open alerts, each carrying the total count
    # (a window over the same filter), on the (workspace, status, -last_seen) index.
    rows = list(
        Alert.objects.filter(workspace=request.workspace, status=AlertStatus.OPEN)
        .annotate(total=Window(Count("pk")))
        .order_by("-last_seen", "-pk")
        .only("pk", "rule", "subject", "last_seen", "acknowledged_at")[:SHOWN]
    )
    return {"alerts": rows, "total": rows[0].total if rows else 0}
