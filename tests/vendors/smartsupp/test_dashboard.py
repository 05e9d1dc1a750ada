"""The dashboard card's figures of Smartsupp accounts: accounts, users and
today's chats of every given portal account, in one query, removed rows left
out, each account's own only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import sandbox_account
from vendors.smartsupp.dashboard import dashboard_figures
from vendors.smartsupp.models import SmartsuppAccount, SmartsuppChat, SmartsuppUser

pytestmark = pytest.mark.django_db


def test_figures_of_every_account_in_one_query(reseller):
    one = sandbox_account(reseller, "http://127.0.0.1:1", vendor="smartsupp")
    two = sandbox_account(reseller, "http://127.0.0.1:1", vendor="smartsupp", name="b")
    empty = sandbox_account(
        reseller, "http://127.0.0.1:1", vendor="smartsupp", name="c"
    )
    now = timezone.now()
    for n in range(3):
        parent = SmartsuppAccount.objects.create(account=one, external_id=str(n))
        SmartsuppUser.objects.create(
            account=one, external_id=f"u{n}", smartsupp_account=parent
        )
    SmartsuppAccount.objects.filter(account=one, external_id="2").update(removed_at=now)
    SmartsuppUser.objects.filter(account=one, external_id="u2").update(removed_at=now)
    SmartsuppAccount.objects.create(account=two, external_id="9")
    SmartsuppChat.objects.create(account=one, external_id="c1", begin_at=now)
    SmartsuppChat.objects.create(
        account=one, external_id="c0", begin_at=now - timedelta(days=2)
    )
    with CaptureQueriesContext(connection) as queries:
        figures = dashboard_figures([one, two, empty])
    assert len(queries) == 1
    values = {pk: [f["value"] for f in rows] for pk, rows in figures.items()}
    assert values == {one.pk: [2, 2, 1], two.pk: [1, 0, 0], empty.pk: [0, 0, 0]}
    assert [f["label"] for f in figures[one.pk]] == ["Accounts", "Users", "Chats today"]
    assert dashboard_figures([]) == {}
