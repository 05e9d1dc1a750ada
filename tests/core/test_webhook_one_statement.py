"""On PostgreSQL a webhook delivery is one statement on the driver's connection:
the INSERT and the read of the account's "drain queued" flag together
(`vendorkit.webhooks._Statements.insert_and_flag`), run by `_fetchone` without
Django's cursor wrapping. These tests pin what that must keep: no event waits
for the sweeper because its flag read raced a drain lowering the flag (the read
locks the flag row until the INSERT commits), and Django's guarantees around a
statement (broken transactions refused, execute wrappers and the query log).

Run with DATABASE_URL=postgres://…; elsewhere the intake keeps two statements
(the INSERT, then the flag read) and these are skipped."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from cobrowse_portal.core.choices import EventStatus
from cobrowse_portal.core.models import SyncClaim, WebhookEvent
from cobrowse_portal.core.tasks import (
    WEBHOOKS_QUEUED,
    WEBHOOKS_QUEUED_TTL,
    process_webhook_events,
)
from cobrowse_portal.vendorkit import webhooks
from cobrowse_portal.vendorkit.runs import raise_flag

from .conftest import make_account
from .test_webhooks import event, hook_url, post

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement intake is PostgreSQL's"
)


@pytest.fixture
def account(reseller):
    return make_account(reseller, "One statement")


def deliver(account, seq: int):
    """One delivery through the intake, as the fast path calls it."""
    import json

    body = json.dumps(event(seq, session=f"s-{seq}")).encode()
    return webhooks.intake(account.pk, account.webhook_token, lambda: body)


def in_thread(work):
    """Run `work` on its own database connection (Django's are per thread)."""
    from django.db import connections

    box: dict = {}

    def run():
        try:
            box["result"] = work()
        except Exception as exc:  # handed to the test
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def flag_is_up(account) -> bool:
    return SyncClaim.objects.filter(account=account, stream=WEBHOOKS_QUEUED).exists()


def lower_flag_sql(account) -> tuple[str, list]:
    return (
        "DELETE FROM core_syncclaim WHERE account_id = %s AND stream = %s",
        [account.pk, WEBHOOKS_QUEUED],
    )


def test_a_delivery_is_one_statement_and_queues_nothing_while_the_flag_is_up(
    account, client, django_capture_on_commit_callbacks
):
    from django.test.utils import CaptureQueriesContext

    post(client, hook_url(account), event(1))  # the account is now remembered
    assert raise_flag(account.pk, WEBHOOKS_QUEUED, WEBHOOKS_QUEUED_TTL)
    wrapped: list[str] = []

    def wrapper(execute, sql, params, many, context):
        wrapped.append(sql)
        return execute(sql, params, many, context)

    with (
        CaptureQueriesContext(connection) as captured,
        connection.execute_wrapper(wrapper),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = post(client, hook_url(account), event(2))
    assert response.status_code == 202
    sql = [q["sql"] for q in captured.captured_queries]
    assert len(sql) == 1 and wrapped == [
        webhooks._statements(connection).insert_and_flag
    ]
    assert sql[0].startswith('WITH stored AS (INSERT INTO "core_webhookevent"')
    assert "core_syncclaim" in sql[0] and "FOR KEY SHARE" in sql[0]
    assert callbacks == []  # the raised flag's drain will find the event
    assert WebhookEvent.objects.filter(sequence=2, status=EventStatus.RECEIVED).exists()


def test_with_the_flag_down_the_same_statement_leads_to_a_queued_drain(
    account, django_capture_on_commit_callbacks
):
    deliver(account, 1)
    SyncClaim.objects.filter(account=account).delete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert deliver(account, 2) == (202, "accepted")
    assert len(callbacks) == 1
    # An expired flag is a flag down too.
    SyncClaim.objects.create(
        account=account,
        stream=WEBHOOKS_QUEUED,
        token="flag",
        expires_at="2020-01-01T00:00:00Z",
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert deliver(account, 3) == (202, "accepted")
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_a_drain_lowering_the_flag_waits_for_a_delivery_in_flight(account):
    """The delivery's statement holds the flag row until its INSERT commits: a
    drain's DELETE of the flag (after which it reads the pending events) cannot
    slip in between the flag read and the commit."""
    deliver(account, 1)  # committed: its drain request raised the flag
    assert flag_is_up(account)
    sql, params = lower_flag_sql(account)

    def lower_quickly():
        from django.db import connection as mine

        with mine.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
            cursor.execute(sql, params)
            return cursor.rowcount

    with transaction.atomic():  # the delivery's commit, held back
        assert deliver(account, 2) == (202, "accepted")
        thread, box = in_thread(lower_quickly)
        thread.join(10)
    error = box.get("error")
    assert error is not None and isinstance(
        getattr(error, "__cause__", None), psycopg.errors.LockNotAvailable
    ), box
    # Once the delivery committed, the drain lowers the flag at once.
    thread, box = in_thread(lower_quickly)
    thread.join(10)
    assert box == {"result": 1}


@pytest.mark.django_db(transaction=True)
def test_a_delivery_racing_a_drain_that_lowers_the_flag_queues_a_drain(
    account, monkeypatch
):
    """A drain's DELETE of the flag is in flight (not committed) when the
    delivery reads the flag: the delivery waits for it, then finds the flag down
    and queues a drain. Read without the lock, it would see the flag still up,
    queue nothing, and its event would wait for the sweeper, since the drain may
    already have read the pending events."""
    queued: list[int] = []
    monkeypatch.setattr(process_webhook_events, "delay", queued.append)
    deliver(account, 1)  # committed: its drain request raised the flag
    assert flag_is_up(account) and queued == [account.pk]
    sql, params = lower_flag_sql(account)
    deleted = threading.Event()

    def drain_lowers_the_flag():
        from django.db import connection as mine

        with transaction.atomic(using=mine.alias):
            with mine.cursor() as cursor:
                cursor.execute(sql, params)
            deleted.set()
            time.sleep(0.5)  # the delivery arrives meanwhile
        return "committed"

    thread, box = in_thread(drain_lowers_the_flag)
    assert deleted.wait(10)
    started = time.monotonic()
    assert deliver(account, 2) == (202, "accepted")
    waited = time.monotonic() - started
    thread.join(10)
    assert box == {"result": "committed"}
    assert waited > 0.2  # it waited for the drain's DELETE to commit,
    # then saw the flag down: the flag is raised again and a drain queued.
    assert queued == [account.pk, account.pk] and flag_is_up(account)


def test_a_broken_transaction_is_refused_as_by_a_django_cursor(account):
    deliver(account, 1)
    with transaction.atomic():
        try:
            with transaction.atomic(savepoint=False), connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        except DatabaseError:
            pass
        with pytest.raises(TransactionManagementError):
            deliver(account, 2)
