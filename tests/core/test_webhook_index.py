"""The webhook drain brings the control room's index in step once per batch of
events (in the batch's transaction), not once per event."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import ActivityStatus, EventStatus
from cobrowse_portal.core.models import Activity, WebhookEvent

from .conftest import make_account
from .test_webhooks import event, hook_url, post


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", sent.append)
    return sent


def deliver_and_drain(client, account, events, queued, on_commit) -> list[str]:
    with on_commit(execute=True):
        for payload in events:
            assert post(client, hook_url(account), payload).status_code == 202
    with CaptureQueriesContext(connection) as seen, on_commit(execute=True):
        tasks.process_webhook_events(queued.pop())
    return [q["sql"] for q in seen.captured_queries]


def index_writes(sqls: list[str]) -> int:
    # An executemany is one statement ("N times: INSERT INTO ...").
    return sum(1 for q in sqls if 'INSERT INTO "core_activity" ' in q)


@pytest.mark.parametrize("sessions", [3, 40])
def test_a_drained_batch_indexes_its_sessions_in_one_write(
    reseller, client, queued, sessions, django_capture_on_commit_callbacks
):
    account = make_account(reseller, "Desk")
    events = [
        event(n, session=f"s-{n}", start_time="2026-12-01T10:00:00Z")
        for n in range(1, sessions + 1)
    ]
    events += [
        event(
            sessions + n,
            "session.ended",
            session=f"s-{n}",
            end_time="2026-12-01T10:05:00Z",
            duration=300,
        )
        for n in range(1, sessions + 1)
    ]
    sqls = deliver_and_drain(
        client, account, events, queued, django_capture_on_commit_callbacks
    )
    assert not WebhookEvent.objects.exclude(status=EventStatus.PROCESSED).exists()
    rows = Activity.objects.filter(account=account)
    assert rows.count() == sessions
    assert set(rows.values_list("status", flat=True)) == {ActivityStatus.ENDED}
    assert set(rows.values_list("duration", flat=True)) == {300}
    # One bulk index write for the whole batch, however many events it held.
    assert index_writes(sqls) == 1, [q[:90] for q in sqls if "core_activity" in q]
