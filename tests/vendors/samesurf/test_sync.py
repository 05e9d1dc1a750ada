"""SameSurf streams against the sandbox over HTTP (seeded once per session):
every room stored once, one row (and one activity) per real room whichever
listing saw it first, incremental analytics, overview usage, subscriptions
checked with their own keys."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus, RunStatus
from cobrowse_portal.core.models import Activity, UsageDay
from cobrowse_portal.vendorkit.runs import execute_stream, load_cursor
from tests.conftest import sandbox_account
from vendors.samesurf.models import (
    SameSurfApiKey,
    SameSurfRecording,
    SameSurfRoom,
    SameSurfSubscription,
    SameSurfUsage,
)
from vendors.samesurf.sandbox.models import ApiKey, Room, Subscription
from vendors.samesurf.sandbox.seed import RESELLER_NAME

from .conftest import SANDBOX

pytestmark = SANDBOX


def run(account, stream):
    result = execute_stream(account.pk, stream)
    assert result.status == RunStatus.SUCCEEDED, result.error
    return result


def vendor_rooms(**filters):
    return Room.objects.filter(subscription__name=RESELLER_NAME, **filters)


def rooms_activities(account):
    return Activity.objects.filter(account=account, kind=ActivityKind.ROOM)


def test_analytics_backfill_stores_every_room_once_then_resyncs_in_one_request(
    reseller, sandbox, live_server
):
    account = sandbox_account(reseller, live_server.url, vendor="samesurf")
    past = vendor_rooms(ended_at__isnull=False)
    first = run(account, "analytics")
    stored = SameSurfRoom.objects.filter(account=account)
    assert stored.count() == past.count() == first.created
    assert {(r.number, r.version) for r in stored} == {
        (r.number, r.version) for r in past
    }
    # Reused numbers are two rooms, told apart by version.
    assert stored.filter(version=1).exists()
    reused = stored.filter(version=1).first()
    assert stored.filter(number=reused.number).count() == 2
    # Recordings 0..n-1 per room, as `screenrecordings` says.
    assert SameSurfRecording.objects.filter(account=account).count() == sum(
        past.values_list("recordings", flat=True)
    )
    sample = past.filter(recordings__gte=2).first()
    assert list(
        SameSurfRecording.objects.filter(
            room__number=sample.number, room__version=sample.version
        ).values_list("index", flat=True)
    ) == list(range(sample.recordings))
    # Every room is an ended activity; recorded ones carry the tag.
    acts = rooms_activities(account)
    assert acts.count() == past.count()
    assert not acts.exclude(status=ActivityStatus.ENDED).exists()
    room = stored.get(number=sample.number, version=sample.version)
    act = acts.get(external_id=room.external_id)
    assert act.duration == sample.duration and act.started_at == sample.started_at
    assert "recorded" in act.tags
    assert load_cursor(account.pk, "analytics")["high_water"]

    again = run(account, "analytics")
    assert again.requests <= 2
    assert (again.created, again.updated) == (0, 0)
    assert stored.count() == past.count() == acts.count()


def test_new_analytics_rooms_arrive_incrementally(reseller, sandbox, live_server):
    account = sandbox_account(reseller, live_server.url, vendor="samesurf")
    run(account, "analytics")
    template = vendor_rooms(ended_at__isnull=False).order_by("-started_at").first()
    start = timezone.now() - timedelta(minutes=30)
    Room.objects.create(
        subscription=template.subscription,
        number="555000111",
        title="Late room",
        token="t" * 12,
        leader_token="l" * 12,
        started_at=start,
        ended_at=start + timedelta(minutes=20),
        duration=1200,
        recordings=1,
    )
    later = run(account, "analytics")
    assert (later.created, later.requests) == (1, 1)
    room = SameSurfRoom.objects.get(account=account, number="555000111")
    assert (room.version, room.duration, room.recordings) == (0, 1200, 1)


def test_running_room_then_analytics_is_one_room_and_one_activity(
    reseller, sandbox, live_server
):
    account = sandbox_account(reseller, live_server.url, vendor="samesurf")
    live = vendor_rooms(ended_at__isnull=True, started_at__isnull=False)
    run(account, "running")
    rows = SameSurfRoom.objects.filter(account=account)
    assert rows.count() == live.count() >= 3
    assert all(r.is_running and r.version is None and r.leader_link for r in rows)
    acts = rooms_activities(account)
    assert acts.filter(status=ActivityStatus.LIVE).count() == live.count()

    # Again: nothing changed, nothing written.
    again = run(account, "running")
    assert (again.created, again.updated) == (0, 0)

    # The oldest running room ends at SameSurf: the live stream ends it locally.
    ending = live.order_by("started_at").first()
    ending.ended_at = ending.started_at + timedelta(seconds=321)
    ending.duration = 321
    ending.save()
    run(account, "running")
    row = rows.get(number=ending.number)
    assert not row.is_running and row.ended_at and row.version is None
    assert acts.get(external_id=row.external_id).status == ActivityStatus.ENDED

    # Analytics lists it with its version: the same row takes it (adopted).
    run(account, "analytics")
    row.refresh_from_db()
    assert (row.version, row.duration) == (ending.version, 321)
    assert rows.filter(number=ending.number).count() == 1
    assert acts.filter(external_id__startswith=f"{ending.number}").count() == 1
    assert (
        acts.count()
        == rows.all().count()
        == (vendor_rooms(started_at__isnull=False).count())
    )
    assert acts.get(external_id=row.external_id).duration == 321
    # Still running rooms are untouched by analytics.
    assert rows.filter(is_running=True).count() == live.all().count() == 2


def test_a_room_listed_again_after_a_flaky_listing_is_live_again(
    reseller, sandbox, live_server
):
    account = sandbox_account(reseller, live_server.url, vendor="samesurf")
    run(account, "running")
    room = vendor_rooms(ended_at__isnull=True, started_at__isnull=False).first()
    room.ended_at = timezone.now()
    room.save()
    run(account, "running")
    local = SameSurfRoom.objects.get(account=account, number=room.number)
    assert not local.is_running
    room.ended_at = None
    room.save()
    run(account, "running")
    local.refresh_from_db()
    assert local.is_running
    status = rooms_activities(account).get(external_id=local.external_id).status
    assert status == ActivityStatus.LIVE


def test_overview_is_an_hourly_snapshot_feeding_usage_figures(
    reseller, sandbox, live_server
):
    account = sandbox_account(reseller, live_server.url, vendor="samesurf")
    run(account, "overview")
    run(account, "overview")
    snap = SameSurfUsage.objects.get(account=account)
    assert snap.rooms_total == vendor_rooms(ended_at__isnull=False).count()
    day = UsageDay.objects.get(account=account, day=timezone.localdate())
    assert day.figures["rooms"] == snap.rooms_today
    assert day.figures["average_minutes"] == snap.average_minutes_today


def test_subscriptions_are_checked_with_their_own_keys(reseller, sandbox, live_server):
    account = sandbox_account(reseller, live_server.url, vendor="samesurf")
    api = account.client()
    api.create_subscription("Checked Co", 3)
    key = api.create_api_key("Checked Co")
    sub = SameSurfSubscription.objects.create(
        account=account, external_id="Checked Co", name="Checked Co", license_count=3
    )
    SameSurfApiKey.build(sub, key.api_key, key.api_secret).save()
    result = run(account, "subscriptions")
    assert result.requests == 1  # one overview per stored key
    sub.refresh_from_db()
    assert (sub.check_status, sub.rooms_total) == ("ok", 0)
    assert SameSurfApiKey.objects.get().check_status == "ok"

    # The key is gone at SameSurf: flagged, not removed.
    ApiKey.objects.filter(subscription__name="Checked Co").delete()
    run(account, "subscriptions")
    sub.refresh_from_db()
    assert sub.check_status == "rejected" and sub.removed_at is None
    assert SameSurfApiKey.objects.get().check_status == "rejected"
    assert Subscription.objects.filter(name="Checked Co").exists()


def test_a_room_started_this_second_is_inside_the_window(
    reseller, sandbox, live_server, monkeypatch
):
    """`end_date` goes out in whole seconds and is exclusive."""
    account = sandbox_account(reseller, live_server.url, vendor="samesurf")
    now = timezone.now().replace(microsecond=900_000)
    monkeypatch.setattr("vendors.samesurf.sync.timezone.now", lambda: now)
    template = vendor_rooms(ended_at__isnull=False).first()
    Room.objects.create(
        subscription=template.subscription,
        number="555000222",
        token="t" * 12,
        leader_token="l" * 12,
        started_at=now - timedelta(microseconds=100_000),
        ended_at=now,
        duration=0,
    )
    run(account, "analytics")
    assert SameSurfRoom.objects.filter(account=account, number="555000222").exists()
