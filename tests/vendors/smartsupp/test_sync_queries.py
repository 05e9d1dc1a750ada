"""The Smartsupp streams' database work per page does not grow with the page:
a page of many accounts' users costs the same statements as a page of few (no
per-row or per-account query), the reads are keyed (no ORDER BY from a model's
default ordering), and a no-change page writes no row. Run against a fake
client (no HTTP), so only the portal's queries are counted."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.core.choices import Trigger as RunTrigger
from cobrowse_portal.core.models import VendorAgent
from cobrowse_portal.vendorkit.runs import RunContext, queue_run
from tests.conftest import sandbox_account
from vendors.smartsupp import sync
from vendors.smartsupp.models import (
    SmartsuppAccount,
    SmartsuppOfficeHours,
    SmartsuppUser,
)
from vendors.smartsupp.schemas import Account, User

pytestmark = pytest.mark.django_db


class FakeClient:
    """Answers like the client, from memory: `accounts` aids, 10 users each."""

    requests_made = 0

    def __init__(self, accounts: int, extra: dict | None = None) -> None:
        self.aids = [str(5000 + i) for i in range(accounts)]
        self.extra = extra or {}

    def list_accounts(self):
        return [
            Account.parse(
                {"id": aid, "title": f"Shop {aid}", "lang": "en", "accountKey": "k"}
                | self.extra.get(aid, {})
            )
            for aid in self.aids
        ]

    def list_users(self, aid):
        return [
            User.parse(
                {
                    "id": f"{aid}{n:02d}",
                    "role": "agent",
                    "email": f"u{aid}{n}@x.test",
                    "fullname": f"User {aid} {n}",
                }
            )
            for n in range(10)
        ]


def context(account, stream, client) -> RunContext:
    return RunContext(
        account=account,
        stream=stream,
        run=queue_run(account, stream, RunTrigger.MANUAL),
        client=client,
    )


def page_queries(account, accounts: int) -> list[str]:
    client = FakeClient(accounts)
    sync.pull_accounts(context(account, "accounts", client))
    with CaptureQueriesContext(connection) as queries:
        sync.pull_users(context(account, "users", client))
    return [q["sql"] for q in queries]


def test_a_page_of_many_accounts_costs_what_a_page_of_few_does(reseller, monkeypatch):
    monkeypatch.setattr(sync, "ACCOUNTS_PER_PAGE", 1000)
    few = sandbox_account(reseller, "http://127.0.0.1:1", vendor="smartsupp")
    many = sandbox_account(reseller, "http://127.0.0.1:1", vendor="smartsupp", name="b")
    # 20 accounts: 200 users, within one statement of every batched write (the
    # directory's identity insert is split by SQLite's 999 parameters, ~250
    # rows: a statement per batch, never per row).
    small = page_queries(few, 2)
    large = page_queries(many, 20)
    assert SmartsuppUser.objects.filter(account=many).count() == 200
    assert VendorAgent.objects.filter(account=many).count() == 200
    assert len(large) == len(small), (len(small), len(large))
    keyed = [
        q for q in large if "smartsupp_smartsuppuser" in q and q.startswith("SELECT")
    ]
    assert keyed and all("ORDER BY" not in q.upper() for q in keyed)


def test_a_no_change_page_writes_no_row(reseller):
    account = sandbox_account(reseller, "http://127.0.0.1:1", vendor="smartsupp")
    client = FakeClient(5)
    sync.pull_accounts(context(account, "accounts", client))
    sync.pull_users(context(account, "users", client))
    ctx = context(account, "users", client)
    with CaptureQueriesContext(connection) as queries:
        sync.pull_users(ctx)
    assert (ctx.counts.created, ctx.counts.updated, ctx.counts.removed) == (0, 0, 0)
    assert ctx.counts.unchanged == 50
    writes = [
        q["sql"]
        for q in queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
        and "smartsupp_" in q["sql"]
    ]
    assert writes == []


def test_office_hours_carried_by_an_account_answer_are_stored(reseller):
    """Unknown (vendor-apis.md §5.2): no read of office hours is documented;
    an account answer that carries them has them stored."""
    account = sandbox_account(reseller, "http://127.0.0.1:1", vendor="smartsupp")
    hours = {
        "active": True,
        "days": [1, 2],
        "timezone": 1,
        "config": [{"dow": 1, "times": [{"from": 480, "to": 720}]}],
    }
    client = FakeClient(2, extra={"5001": {"officeHours": hours}})
    sync.pull_accounts(context(account, "accounts", client))
    stored = SmartsuppOfficeHours.objects.get(account=account)
    parent = SmartsuppAccount.objects.get(account=account, external_id="5001")
    assert stored.smartsupp_account == parent and stored.external_id == "5001"
    assert (stored.active, stored.days, stored.timezone) == (True, [1, 2], "1")
    assert stored.week()[1] == [("08:00", "12:00")]
    assert not SmartsuppOfficeHours.objects.filter(
        smartsupp_account__external_id="5000"
    ).exists()
