"""Pulls and webhooks merge by one rule (vendorkit.merge): a session never moves
backwards. Ended is final unless a newer event (by the vendor's own time) says it
started again; a late event older than the stored state is skipped; a pull never
re-activates a session a webhook ended."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.core.models import WebhookEvent
from cobrowse_portal.core.tasks import process_webhook_events
from cobrowse_portal.vendorkit.merge import Stage, is_newer
from cobrowse_portal.vendorkit.runs import execute_stream
from vendors.surfly.models import CobrowseSession

from .test_sync import on, record

T = lambda h, m=0: datetime(2026, 10, 1, h, m, tzinfo=UTC)  # noqa: E731


def deliver(account, seq, kind, session="sess1", **data):
    """Store an event as the intake does, then drain the account's events."""
    WebhookEvent.objects.create(
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
    process_webhook_events(account.pk)
    return CobrowseSession.objects.get(account=account, external_id=session)


def sync_ended(account, mocked):
    """A history pull stores sess1 as ended at 11:00 (no event sequence)."""
    on(
        mocked,
        "history/",
        json={"next": None, "previous": None, "results": [record(1)]},
    )
    run = execute_stream(account.pk, "history")
    assert run.status == RunStatus.SUCCEEDED, run.error
    session = CobrowseSession.objects.get(account=account, external_id="sess1")
    assert not session.is_active and session.last_event_sequence is None
    return session


def test_late_started_event_does_not_revive_a_synced_ended_session(account, mocked):
    sync_ended(account, mocked)
    # Surfly sent session.started before the end; it is delivered after the pull.
    session = deliver(
        account, 5, "session.started", start_time="2026-10-01T10:01:00Z", tags=["x"]
    )
    assert not session.is_active
    assert session.end_time == T(11) and session.duration == 121
    # No time at all: still not enough to reopen an ended session.
    session = deliver(account, 6, "session.queued")
    assert not session.is_active and session.end_time == T(11)


def test_newer_events_still_apply_after_a_sync(account, mocked):
    sync_ended(account, mocked)
    # A later end (same stage, newer) updates the end time and duration.
    session = deliver(
        account, 7, "session.ended", end_time="2026-10-01T11:30:00Z", duration=300
    )
    assert not session.is_active and session.end_time == T(11, 30)
    assert session.duration == 300 and session.last_event_sequence == 7
    # Started again after it ended (its start time is later than the end): live.
    session = deliver(account, 8, "session.started", start_time="2026-10-01T12:00:00Z")
    assert session.is_active and session.end_time is None and session.duration is None
    assert session.start_time == T(12)
    # ...and an older event of the earlier run (sequence 6 < 8) is skipped.
    session = deliver(account, 6, "session.ended", end_time="2026-10-01T11:10:00Z")
    assert session.is_active


def test_pull_never_reactivates_a_session_a_webhook_ended(account, mocked):
    deliver(account, 1, "session.started", start_time="2026-10-01T10:00:00Z")
    ended = deliver(
        account, 2, "session.ended", end_time="2026-10-01T10:30:00Z", duration=1800
    )
    assert not ended.is_active
    # The live listing still shows it (Surfly's list lags a little behind).
    live = dict(record(1, end=False), start_time="2026-10-01T10:00:00Z")
    on(mocked, "sessions/", {"active_session": "true"}, json=[live])
    run = execute_stream(account.pk, "live")
    assert run.status == RunStatus.SUCCEEDED, run.error
    session = CobrowseSession.objects.get(pk=ended.pk)
    assert not session.is_active
    assert session.end_time == T(10, 30) and session.duration == 1800
    assert session.follower_link == "https://surfly.test/1"  # the rest still follows


@pytest.mark.parametrize(
    ("incoming", "current", "expected"),
    [
        (Stage(2, T(11)), Stage(1, T(10)), True),  # later stage
        (Stage(1, T(10)), Stage(2, T(11)), False),  # back, older
        (Stage(1, T(12)), Stage(2, T(11)), True),  # back, but later in time
        (Stage(1, None), Stage(2, T(11)), False),  # back, no time
        (Stage(1, T(10), 3), Stage(1, T(10), 4), False),  # same stage, older event
        (Stage(1, T(10), 5), Stage(1, T(10), 4), True),
        (Stage(1, T(10)), Stage(1, T(9), 4), True),  # a pull at the same stage
        (Stage(2, T(11), 1), Stage(2, T(11), 9), False),  # repeated older end
    ],
)
def test_merge_rule(incoming, current, expected):
    assert is_newer(incoming, current) is expected
