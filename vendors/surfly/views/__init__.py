"""Surfly pages. They read the local database only; the explicit POST actions
(and the screenshot action) call Surfly through `services.py`."""

from __future__ import annotations

from django.urls import reverse

from ..models import CobrowseSession, SurflyAgent


def dashboard_figures(account) -> list[dict]:
    live = CobrowseSession.objects.filter(account=account, is_active=True).count()
    agents = SurflyAgent.objects.filter(account=account, removed_at__isnull=True)
    return [
        {
            "label": "Live sessions",
            "value": live,
            "url": reverse("surfly:live", kwargs={"account_id": account.pk}),
        },
        {
            "label": "Agents free",
            "value": f"{agents.filter(is_free=True).count()} of {agents.count()}",
            "url": reverse("surfly:agents", kwargs={"account_id": account.pk}),
        },
    ]
