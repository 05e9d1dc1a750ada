"""The dashboard cards' Serviceform figures: open chats and chats of the last
7 days of every account, in one query whatever the number of accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cobrowse_portal.core.models import VendorAccount
from vendors.serviceform.dashboard import dashboard_figures
from vendors.serviceform.models import ChatStatus, ServiceformChat

pytestmark = pytest.mark.django_db


def account(workspace, name: str) -> VendorAccount:
    a = VendorAccount(workspace=workspace, vendor="serviceform", name=name)
    a.set_credentials({"api_key": "k"})
    a.save()
    return a


def test_figures_of_every_account_in_one_query(reseller):
    now = timezone.now()
    one, two, empty = (account(reseller, n) for n in ("one", "two", "empty"))
    rows = [
        (one, "a", ChatStatus.OPEN, now - timedelta(minutes=5), None),
        (one, "b", ChatStatus.ENDED, now - timedelta(days=2), None),
        (one, "c", ChatStatus.ENDED, now - timedelta(days=20), None),
        (one, "d", ChatStatus.OPEN, now - timedelta(days=1), now),  # removed
        (two, "e", ChatStatus.ENDED, now - timedelta(days=3), None),
    ]
    for acc, ext, status, started, removed in rows:
        ServiceformChat.objects.create(
            account=acc,
            external_id=ext,
            status=status,
            started_at=started,
            removed_at=removed,
        )
    with CaptureQueriesContext(connection) as queries:
        figures = dashboard_figures([one, two, empty])
    assert len(queries) == 1
    values = {pk: [f["value"] for f in fs] for pk, fs in figures.items()}
    assert values == {one.pk: [1, 2], two.pk: [0, 1], empty.pk: [0, 0]}
    assert [f["label"] for f in figures[one.pk]] == ["Open chats", "Chats (7 days)"]
    assert dashboard_figures([]) == {}
