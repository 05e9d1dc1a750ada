"""The webhook drain brings the control room's index in step once per batch of
events (in the batch's transaction), not once per event."""

from __future__ import annotations

import pytest

from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import ActivityStatus, EventStatus
from cobrowse_portal.core.models import Activity, WebhookEvent
from cobrowse_portal.vendorkit import activity

from .conftest import make_account
from .test_webhooks import event, hook_url, post


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", sent.append)
    return sent


@pytest.fixture
def index_calls(monkeypatch) -> list[int]:
    """The rows each call of the index write was given (counted on every database:
    on PostgreSQL the write itself runs on the driver's cursor, out of sight of
    Django's query log)."""
    calls: list[int] = []
    real = activity.index_rows

    def counting(model, account, external_ids, *args, **kwargs):
        calls.append(len(external_ids))
        return real(model, account, external_ids, *args, **kwargs)

    monkeypatch.setattr(activity, "index_rows", counting)
    return calls


@pytest.mark.parametrize("sessions", [3, 40])
def test_a_drained_batch_indexes_its_sessions_in_one_write(
    reseller, client, queued, index_calls, sessions, django_capture_on_commit_callbacks
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
    with django_capture_on_commit_callbacks(execute=True):
        for payload in events:
            assert post(client, hook_url(account), payload).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_webhook_events(queued.pop())
    assert not WebhookEvent.objects.exclude(status=EventStatus.PROCESSED).exists()
    rows = Activity.objects.filter(account=account)
    assert rows.count() == sessions
    assert set(rows.values_list("status", flat=True)) == {ActivityStatus.ENDED}
    assert set(rows.values_list("duration", flat=True)) == {300}
    # One bulk index write for the whole batch, however many events it held.
    assert index_calls == [sessions]
