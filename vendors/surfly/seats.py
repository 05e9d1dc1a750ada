"""Surfly's paid seats per client workspace, for the reseller's Seats page."""

from __future__ import annotations

from django.db.models import Sum

from .models import SurflyClient


def seat_licences(reseller_workspace, client_workspace_ids) -> dict[int, dict]:
    """The reseller's Surfly clients' `agent_count` ("Maximum number of agents"
    in Surfly's OpenAPI schema of a client: the seats the client may use),
    summed per client workspace they were provisioned for, in one query.
    `plan` is only a name ("pro"), no figure. A client whose payload carried no
    `agent_count` tells nothing: a workspace with only such clients is left out
    (unknown, never 0)."""
    rows = (
        SurflyClient.objects.filter(
            account__workspace=reseller_workspace,
            client_workspace_id__in=list(client_workspace_ids),
            removed_at__isnull=True,
            agent_count__isnull=False,
        )
        .order_by()
        .values("client_workspace_id")
        .annotate(n=Sum("agent_count"))
        .values_list("client_workspace_id", "n")
    )
    return {ws: {"licences": n} for ws, n in rows}
