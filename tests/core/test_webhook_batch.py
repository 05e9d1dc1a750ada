"""The webhook drain applies a batch of events with a fixed number of statements
(`vendorkit.webhooks.RecordHandler`): the batch's records read in one query,
merged in memory in sequence order, the changed ones written in one statement,
the events marked in one UPDATE. What it must keep: the merge rule within and
across batches, exactly-once, a failing event failing alone, a failed batch write
rolled back and applied event by event, never overwriting a row it did not read,
and the vendor rows rolled back with their index rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import ActivityStatus, EventStatus
from cobrowse_portal.core.models import Activity, WebhookEvent
from cobrowse_portal.vendorkit import activity, webhooks
from vendors.surfly.models import CobrowseSession
from vendors.surfly.webhooks import SurflyWebhookHandler

from .conftest import make_account

T = lambda h, m=0: datetime(2026, 10, 1, h, m, tzinfo=UTC)  # noqa: E731


@pytest.fixture
def account(reseller):
    return make_account(reseller, "Batched desk")


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """The drain's re-queue goes nowhere (each test drains itself)."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", sent.append)
    return sent


def store(account, seq, kind="session.started", session="s-1", **data):
    """An event as the intake stores it."""
    return WebhookEvent.objects.create(
        account=account,
        external_id=str(seq),
        sequence=seq,
        event_type=kind,
        payload={
            "sequence_id": seq,
            "type": kind,
            "data": {"session_id": session, **data},
        },
    )


def lifecycle(account, sessions: int, first_seq: int = 1) -> None:
    """Each session queued, started and ended (3 events), in sequence order."""
    seq = first_seq
    for kind in ("session.queued", "session.started", "session.ended"):
        for n in range(sessions):
            data = {"start_time": "2026-10-01T10:00:00Z", "tags": [f"t{n % 3}"]}
            if kind == "session.queued":
                data["pin"] = f"{n:04d}"
            if kind == "session.ended":
                data |= {"end_time": "2026-10-01T10:30:00Z", "duration": 1800}
            store(account, seq, kind, session=f"s-{n}", **data)
            seq += 1


def statuses(account) -> dict[int, str]:
    return dict(
        WebhookEvent.objects.filter(account=account).values_list("sequence", "status")
    )


def session(account, key="s-1") -> CobrowseSession:
    return CobrowseSession.objects.get(account=account, external_id=key)


def test_a_batch_costs_the_same_statements_whatever_its_size(reseller):
    """6 events over 2 sessions and 90 over 30 (each one batch): the same number
    of statements, so none is sent per event."""
    counts = []
    for sessions in (2, 30):
        account = make_account(reseller, f"Desk {sessions}")
        lifecycle(account, sessions)
        with CaptureQueriesContext(connection) as queries:
            result = tasks.process_webhook_events(account.pk)
        assert result == f"{sessions * 3} events applied"
        assert set(statuses(account).values()) == {EventStatus.PROCESSED}
        stored = CobrowseSession.objects.filter(account=account)
        assert stored.count() == sessions
        assert not stored.filter(is_active=True).exists()
        assert set(stored.values_list("duration", flat=True)) == {1800}
        assert Activity.objects.filter(
            account=account, status=ActivityStatus.ENDED
        ).count() == (sessions)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("commit_every", [100, 2, 1])
def test_one_sessions_events_merge_in_order_within_and_across_batches(
    account, monkeypatch, commit_every
):
    """The merge rule holds whether a session's events share a batch or not: an
    earlier stage after the end applies only when its own time is later."""
    monkeypatch.setattr(tasks, "COMMIT_EVERY", commit_every)
    # s-1: started, ended, then a "started" whose time is before the end: stays ended.
    store(account, 1, start_time="2026-10-01T10:00:00Z", pin="1111")
    store(account, 2, "session.ended", end_time="2026-10-01T10:30:00Z", duration=9)
    store(account, 3, start_time="2026-10-01T10:05:00Z", tags=["late"])
    # s-2: started, ended, started again after its end: live again.
    store(account, 4, session="s-2", start_time="2026-10-01T10:00:00Z")
    store(account, 5, "session.ended", session="s-2", end_time="2026-10-01T10:30:00Z")
    store(account, 6, session="s-2", start_time="2026-10-01T11:00:00Z")
    # Delivered late (lower sequence than s-2's last): read first, applied first.
    store(account, 0, "session.queued", session="s-2", pin="2222")
    assert tasks.process_webhook_events(account.pk) == "7 events applied"
    assert set(statuses(account).values()) == {EventStatus.PROCESSED}
    one = session(account, "s-1")
    assert not one.is_active and one.end_time == T(10, 30) and one.duration == 9
    assert one.last_event_sequence == 2 and one.pin == "1111" and one.tags == []
    two = session(account, "s-2")
    assert two.is_active and two.end_time is None and two.duration is None
    assert two.start_time == T(11) and two.last_event_sequence == 6
    assert two.pin == "2222" and two.queued is True
    index = dict(
        Activity.objects.filter(account=account).values_list("external_id", "status")
    )
    assert index == {"s-1": ActivityStatus.ENDED, "s-2": ActivityStatus.QUEUED}

    # A later drain: an event older than what s-1 saw is skipped, a newer applies.
    store(account, 7, "session.ended", session="s-2", end_time="2026-10-01T11:30:00Z")
    WebhookEvent.objects.create(
        account=account,
        external_id="1b",
        sequence=1,
        event_type="session.ended",
        payload={
            "sequence_id": 1,
            "type": "session.ended",
            "data": {"session_id": "s-1", "end_time": "2026-10-01T12:00:00Z"},
        },
    )
    assert tasks.process_webhook_events(account.pk) == "2 events applied"
    assert session(account, "s-1").end_time == T(10, 30)
    assert not session(account, "s-2").is_active


def test_an_event_that_cannot_be_applied_fails_alone(account, monkeypatch):
    """One event without data, and one whose merge raises: each is FAILED with its
    error; the others of the batch (the same session's too) are applied."""
    store(account, 1, start_time="2026-10-01T10:00:00Z")
    WebhookEvent.objects.create(
        account=account,
        external_id="2",
        sequence=2,
        event_type="session.started",
        payload={"sequence_id": 2, "type": "session.started"},
    )
    store(account, 3, tags=["boom"])
    store(account, 4, "session.ended", end_time="2026-10-01T10:30:00Z", duration=60)
    store(account, 5, session="s-2")
    real = SurflyWebhookHandler.merge

    def merge(self, current, event):
        if event.sequence == 3:
            raise ValueError("cannot apply")
        return real(self, current, event)

    monkeypatch.setattr(SurflyWebhookHandler, "merge", merge)
    assert tasks.process_webhook_events(account.pk) == "5 events applied"
    assert statuses(account) == {
        1: EventStatus.PROCESSED,
        2: EventStatus.FAILED,
        3: EventStatus.FAILED,
        4: EventStatus.PROCESSED,
        5: EventStatus.PROCESSED,
    }
    errors = dict(
        WebhookEvent.objects.filter(status=EventStatus.FAILED).values_list(
            "sequence", "error"
        )
    )
    assert "KeyError" in errors[2] and "cannot apply" in errors[3]
    one = session(account)
    assert not one.is_active and one.duration == 60 and one.tags == []
    assert one.last_event_sequence == 4
    assert session(account, "s-2").is_active


def test_a_failed_batch_write_is_rolled_back_and_applied_event_by_event(
    account, monkeypatch
):
    """The batch's one write fails (say a deadlock): its savepoint is rolled back
    and each event applied on its own, exactly once, index rows included."""
    lifecycle(account, 4)
    real = webhooks.write_records
    calls = []

    def write(model, account, records, fields, locked):
        calls.append(len(records))
        if len(calls) == 1:
            real(model, account, records, fields, locked)  # written, then it fails
            raise DatabaseError("deadlock detected")
        return real(model, account, records, fields, locked)

    monkeypatch.setattr(webhooks, "write_records", write)
    assert tasks.process_webhook_events(account.pk) == "12 events applied"
    assert calls[0] == 4 and calls[1:] == [1] * 12  # then one event at a time
    assert set(statuses(account).values()) == {EventStatus.PROCESSED}
    stored = CobrowseSession.objects.filter(account=account)
    assert stored.count() == 4 and not stored.filter(is_active=True).exists()
    assert set(stored.values_list("last_event_sequence", flat=True)) == {9, 10, 11, 12}
    index = Activity.objects.filter(account=account)
    assert index.count() == 4
    assert set(index.values_list("status", flat=True)) == {ActivityStatus.ENDED}


def test_a_row_that_appeared_after_the_batch_read_is_not_overwritten(
    account, monkeypatch
):
    """A pull stored s-1 as ended after the drain read its batch's rows (the read
    did not see it): the batch's write must not replace it with the state merged
    from nothing. The write touches only rows it read, so the batch is applied
    again event by event, which sees the stored row and keeps it ended."""
    CobrowseSession(
        account=account,
        external_id="s-1",
        api_id="s-1",
        is_active=False,
        start_time=T(10),
        end_time=T(11),
        duration=3600,
    ).save()
    store(account, 5, start_time="2026-10-01T10:00:00Z", tags=["late"])
    store(account, 6, session="s-2", start_time="2026-10-01T10:00:00Z")
    real = webhooks.read_records
    reads = []

    def read(model, account, keys, fields):
        found = real(model, account, keys, fields)
        reads.append(sorted(keys))
        if len(reads) == 1:
            found.pop("s-1")  # read before the pull's row was committed
        return found

    monkeypatch.setattr(webhooks, "read_records", read)
    assert tasks.process_webhook_events(account.pk) == "2 events applied"
    assert reads[0] == ["s-1", "s-2"] and len(reads) == 3  # then one by one
    one = session(account)
    assert not one.is_active and one.end_time == T(11) and one.duration == 3600
    assert one.tags == [] and one.last_event_sequence is None
    assert session(account, "s-2").is_active
    assert set(statuses(account).values()) == {EventStatus.PROCESSED}
    assert CobrowseSession.objects.filter(account=account).count() == 2


def test_an_index_failure_rolls_back_the_batchs_vendor_rows(account, monkeypatch):
    """The index rows are written in the batch's transaction: when they fail,
    nothing of the batch is stored and its events stay received (the sweeper
    re-queues them); the next drain applies them exactly once."""
    lifecycle(account, 3)

    def broken(*args, **kwargs):
        raise DatabaseError("index write failed")

    monkeypatch.setattr(activity, "write_activities", broken)
    with pytest.raises(DatabaseError):
        tasks.process_webhook_events(account.pk)
    assert not CobrowseSession.objects.filter(account=account).exists()
    assert not Activity.objects.filter(account=account).exists()
    assert set(statuses(account).values()) == {EventStatus.RECEIVED}
    monkeypatch.undo()
    monkeypatch.setattr(tasks.process_webhook_events, "delay", lambda pk: None)
    assert tasks.process_webhook_events(account.pk) == "9 events applied"
    assert CobrowseSession.objects.filter(account=account, is_active=False).count() == 3
    assert Activity.objects.filter(account=account).count() == 3


def test_events_that_change_nothing_write_nothing(account, monkeypatch):
    """Late events (older than what the session saw) are processed without any
    write to the session or its index."""
    store(account, 5, "session.ended", end_time="2026-10-01T10:30:00Z", duration=60)
    assert tasks.process_webhook_events(account.pk) == "1 events applied"
    before = CobrowseSession.objects.filter(account=account).values().get()
    written = []
    monkeypatch.setattr(
        webhooks, "write_records", lambda *a, **k: written.append(a) or 0
    )
    real_index = activity.index_rows
    indexed = []

    def index_rows(model, account, ids=None, **kwargs):
        indexed.append(list(ids or []))
        return real_index(model, account, ids, **kwargs)

    monkeypatch.setattr(activity, "index_rows", index_rows)
    store(account, 3, start_time="2026-10-01T10:00:00Z", tags=["x"])
    store(account, 4, "session.ended", end_time="2026-10-01T10:20:00Z")
    assert tasks.process_webhook_events(account.pk) == "2 events applied"
    assert written == [] and indexed == []
    assert CobrowseSession.objects.filter(account=account).values().get() == before
    assert set(statuses(account).values()) == {EventStatus.PROCESSED}


def test_the_drain_counts_usage_in_the_workspace_time_zone(reseller):
    """The drain reads the account in one plain query (its workspace's time zone
    included): a session started at 20:00 UTC counts on the next day in
    Auckland, and a drain for an account that is gone does nothing."""
    from cobrowse_portal.core.models import UsageDay

    reseller.time_zone = "Pacific/Auckland"
    reseller.save()
    account = make_account(reseller, "Auckland desk")
    store(account, 1, start_time="2026-10-01T20:00:00Z")
    store(account, 2, "session.ended", end_time="2026-10-01T20:10:00Z", duration=600)
    assert tasks.process_webhook_events(account.pk) == "2 events applied"
    day = UsageDay.objects.get(account=account)
    assert str(day.day) == "2026-10-02"
    assert (day.activities, day.seconds) == (1, 600)
    assert tasks.process_webhook_events(987654) == "account 987654 is gone"
