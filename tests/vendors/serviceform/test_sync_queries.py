"""The chats stream's database work per page is a fixed number of statements,
whatever the page holds (bulk reads and writes, never one query per chat or
message), and its keyed reads carry no ORDER BY from the models' default
ordering (SQLite would walk an ordered index over every row of the account
instead of the (account, external_id) key)."""

from __future__ import annotations

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.vendorkit.runs import execute_stream
from tests.conftest import sandbox_account
from vendors.serviceform import sync
from vendors.serviceform.models import ServiceformChat

from .conftest import SANDBOX, SEED_SIZE

pytestmark = SANDBOX


def backfill(reseller, live_server, monkeypatch, limit: int, name: str):
    monkeypatch.setattr(sync, "CHAT_LIMIT", limit)
    monkeypatch.setattr(sync, "COMMIT_PAGES", 1)
    account = sandbox_account(
        reseller, live_server.url, vendor="serviceform", name=name
    )
    with CaptureQueriesContext(connection) as queries:
        run = execute_stream(account.pk, "chats")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert ServiceformChat.objects.filter(account=account).count() == SEED_SIZE
    return run, queries


@override_settings(SERVICEFORM_CHAT_HISTORY_DAYS=130)
def test_queries_per_page_do_not_grow_with_the_page(
    reseller, sandbox, live_server, monkeypatch
):
    small, small_q = backfill(reseller, live_server, monkeypatch, 5, "small pages")
    large, large_q = backfill(reseller, live_server, monkeypatch, 50, "large pages")
    assert small.pages > large.pages
    per_small = len(small_q) / small.pages
    per_large = len(large_q) / large.pages
    # Ten times the chats a page (and their messages) cost no more statements.
    assert per_large <= per_small + 2, (per_small, per_large)
    assert per_large < 40
    keyed = [
        q["sql"]
        for q in large_q
        if "serviceform_servicefor" in q["sql"] and '"external_id" IN' in q["sql"]
    ]
    assert keyed and all("ORDER BY" not in sql.upper() for sql in keyed)
