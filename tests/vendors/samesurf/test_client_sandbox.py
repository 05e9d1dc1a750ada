"""Every SameSurf client method against the sandbox over real HTTP: the
production code path (JWT signing, envelope, paging, links), with only the base
URL and credentials of a sandbox account."""

from __future__ import annotations

import struct
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from django.test import override_settings

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from vendors.samesurf.client import NotReseller, SameSurfClient

from .conftest import RESELLER_NAME, SANDBOX, SEED_SIZE

pytestmark = SANDBOX


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", content[16:24])


def all_items(pages) -> list:
    return [item for page in pages for item in page.items]


def test_check_connection(reseller_api):
    assert reseller_api.check_connection().startswith("API key and secret accepted (")


def test_a_wrong_secret_is_an_auth_error(sandbox):
    api = SameSurfClient(
        sandbox,
        {"api_key": "sandbox-samesurf-reseller-key-0001", "api_secret": "x" * 40},
    )
    with pytest.raises(errors.AuthError) as info:
        api.check_connection()
    assert info.value.vendor_code == 101 and info.value.status == 200


# --- rooms ------------------------------------------------------------------------
def test_running_rooms_page_and_resume(reseller_api):
    reseller_api.room_pager.limit = 2
    pages = list(reseller_api.running_rooms())
    rooms = all_items(pages)
    assert len(rooms) == pages[0].total >= 3
    assert len({r.room for r in rooms}) == len(rooms)
    assert all(r.started_at and r.private_invitation for r in rooms)
    rest = all_items(reseller_api.running_rooms(resume=pages[0].cursor))
    assert [r.room for r in rest] == [r.room for r in rooms[2:]]


def test_create_a_room_with_every_option_then_find_it(reseller_api):
    made = reseller_api.create_room(
        "https://www.samesurf.com",
        title="Live test room",
        bookmarks=[{"name": "Home", "link": "https://www.samesurf.com"}],
        cookies=[{"domain": "shop.test", "name": "sid", "value": "1", "secure": True}],
        storage=[{"domain": "shop.test", "name": "cart", "value": "3"}],
        disabled_features=["MODE_LOGOUT", "TOOLS_12MANY_VIDEO"],
    )
    assert made.room.isdigit() and made.token and made.leader_token
    assert made.leader_link.endswith("/" + made.leader_token)
    assert made.invitee_link.endswith("/" + made.token)
    running = {r.room: r for r in all_items(reseller_api.running_rooms())}
    assert running[made.room].title == "Live test room"
    found = reseller_api.find_room(made.room)
    assert (found.token, found.leader_token) == (made.token, made.leader_token)
    assert found.public_invitation == made.public_invitation


def test_schedule_a_room_in_a_time_zone(reseller_api):
    when = datetime.now(ZoneInfo("Europe/London")).replace(microsecond=0) + timedelta(
        days=3
    )
    made = reseller_api.create_scheduled_room(
        when,
        timezone="Europe/London",
        length_minutes=30,
        invitees=["ana@example.net", "jo@example.com"],
        invite_message="See you",
        starturl="https://www.samesurf.com",
        title="Scheduled live test",
    )
    assert reseller_api.find_room(made.room).token == made.token
    assert made.room not in {r.room for r in all_items(reseller_api.running_rooms())}


def test_a_scheduled_room_in_the_past_is_refused_next_to_its_field(reseller_api):
    with pytest.raises(errors.PermanentVendorError) as info:
        reseller_api.create_scheduled_room(
            datetime.now(UTC) - timedelta(hours=1), starturl="https://a.test"
        )
    assert info.value.vendor_code == 122 and "eventtime" in info.value.field_errors


def test_limited_use_tokens_are_made_and_revoked(reseller_api):
    room = reseller_api.create_room("https://www.samesurf.com", title="Token test")
    token = reseller_api.create_limited_use_token(room.room, 2, True, "Ann")
    assert token.token and token.link.endswith(f"/{room.room}/{token.token}")
    reseller_api.delete_limited_use_token(token.token)
    with pytest.raises(errors.NotFound) as info:
        reseller_api.delete_limited_use_token(token.token)
    assert info.value.vendor_code == 112


# --- recordings ----------------------------------------------------------------------
@pytest.fixture
def recorded(reseller_api):
    """A past room with at least two recordings."""
    for room in all_items(reseller_api.analytics_rooms()):
        if room.recordings >= 2:
            return room
    pytest.fail("the seed has no room with two recordings")


def test_recording_links_serve_a_page_and_real_images(reseller_api, recorded):
    public = reseller_api.recording_public_link(recorded.room, 1, valid_for=5)
    page = requests.get(public, timeout=10)
    assert page.status_code == 200 and "<img" in page.text
    thumb = requests.get(reseller_api.recording_thumbnail(recorded.room), timeout=10)
    assert thumb.headers["Content-Type"] == "image/png"
    assert png_size(thumb.content) == (240, 150)
    image = reseller_api.recording_image(recorded.room, 1, width=400)
    assert png_size(requests.get(image, timeout=10).content) == (400, 250)
    sized = reseller_api.recording_image(recorded.room, 0, width=300, height=100)
    assert png_size(requests.get(sized, timeout=10).content) == (300, 100)


def test_a_recording_that_does_not_exist(reseller_api, recorded):
    with pytest.raises(errors.NotFound) as info:
        reseller_api.recording_thumbnail(recorded.room, recorded.recordings)
    assert info.value.vendor_code == 109


def test_a_tampered_recording_link_serves_nothing(reseller_api, recorded):
    link = reseller_api.recording_thumbnail(recorded.room)
    assert requests.get(link.replace(".png", "x.png"), timeout=10).status_code == 404


# --- analytics ------------------------------------------------------------------
def test_the_overview_counts_the_past_rooms(reseller_api):
    overview = reseller_api.analytics_overview()
    total = next(reseller_api.analytics_rooms()).total
    assert overview.rooms_total == total >= SEED_SIZE
    assert overview.rooms_this_month <= overview.rooms_total
    assert 1 <= overview.average_minutes_all_time <= 60
    assert overview.url_latest.startswith("https://") and overview.url_most_popular


def test_analytics_rooms_in_a_date_range_page_newest_first(reseller_api):
    reseller_api.analytics_pager.limit = 25
    zone = ZoneInfo("America/New_York")
    end = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=60)
    pages = list(reseller_api.analytics_rooms(start, end, "America/New_York"))
    rooms = all_items(pages)
    assert len(rooms) == pages[0].total and len(pages) >= 2
    assert all(start <= r.date < end for r in rooms)
    dates = [r.date for r in rooms]
    assert dates == sorted(dates, reverse=True)
    assert len({r.key for r in rooms}) == len(rooms)
    # Resuming after page one yields exactly the rest.
    rest = all_items(
        reseller_api.analytics_rooms(
            start, end, "America/New_York", resume=pages[0].cursor
        )
    )
    assert [r.key for r in rest] == [r.key for r in rooms[25:]]


def test_one_rooms_analytics_and_a_room_number_used_twice(reseller_api):
    rooms = all_items(reseller_api.analytics_rooms())
    again = next(r for r in rooms if r.version == 1)
    first = reseller_api.room_analytics(again.room)
    second = reseller_api.room_analytics(again.room, version=1)
    assert second.users[0].host and second.events[0].type == "start"
    assert second.users != first.users  # two uses, two sets of people
    assert all(e.date for e in second.events)


# --- reseller ------------------------------------------------------------------------
def test_a_subscription_with_its_own_key(reseller_api, sandbox):
    name = f"Live test {uuid.uuid4().hex[:8]}"
    reseller_api.create_subscription(
        name,
        3,
        overrides={"welcome_active": False, "default_logout_url": "https://a.test"},
        bookmarks=[{"name": "Home", "link": "https://a.test"}],
        disabled_features=["MODE_SCREEN_SHARE"],
    )
    with pytest.raises(errors.PermanentVendorError) as info:
        reseller_api.create_subscription(name, 3)
    assert info.value.vendor_code == 114 and "name" in info.value.field_errors
    key = reseller_api.create_api_key(name)
    client = SameSurfClient(
        sandbox, {"api_key": key.api_key, "api_secret": key.api_secret}
    )
    assert client.analytics_overview().rooms_total == 0  # a new, empty subscription
    reseller_api.delete_subscription(name)
    with pytest.raises(errors.AuthError):  # its keys went with it
        client.analytics_overview()
    with pytest.raises(errors.NotFound) as info:
        reseller_api.delete_subscription(name)
    assert info.value.vendor_code == 118


def test_reseller_calls_need_a_reseller(globex_api, reseller_api):
    with pytest.raises(NotReseller) as info:
        globex_api.create_subscription("Nope", 1)
    assert info.value.vendor_code == 116
    with pytest.raises(NotReseller) as info:  # not one of the reseller's clients
        reseller_api.create_api_key(RESELLER_NAME)
    assert info.value.vendor_code == 117


def test_a_client_sees_only_its_own_rooms(globex_api, reseller_api):
    mine = {r.room for r in all_items(globex_api.running_rooms())}
    theirs = {r.room for r in all_items(reseller_api.running_rooms())}
    assert mine and not mine & theirs
    with pytest.raises(errors.PermanentVendorError) as info:
        globex_api.find_room(next(iter(theirs)))
    assert info.value.vendor_code == 102


# --- platform faults and the rate limit ----------------------------------------
@pytest.fixture
def fresh_key(reseller_api, sandbox):
    """A client subscription of its own (faults are per key), removed after."""
    name = f"Faults {uuid.uuid4().hex[:8]}"
    reseller_api.create_subscription(name, 1)
    key = reseller_api.create_api_key(name)
    yield SameSurfClient(
        sandbox, {"api_key": key.api_key, "api_secret": key.api_secret}
    )
    clear_faults("samesurf", key.api_key)
    reseller_api.delete_subscription(name)


@override_settings(VENDOR_BACKOFF_MAX=0)
def test_reads_get_through_platform_faults(fresh_key):
    key = fresh_key.credentials["api_key"]
    set_faults(
        "samesurf",
        key,
        rate_500=0.15,
        rate_malformed=0.15,
        retry_after_seconds=0,
        seed=7,
    )
    for _ in range(5):
        assert fresh_key.analytics_overview().rooms_total == 0
    assert fresh_key.requests_made > 5  # some were answered with a fault, then retried


def test_writes_are_not_repeated_through_a_fault(fresh_key):
    key = fresh_key.credentials["api_key"]
    set_faults("samesurf", key, rate_500=1.0)
    with pytest.raises(errors.TransientVendorError):
        fresh_key.create_room("https://a.test")
    assert fresh_key.requests_made == 1


def test_the_rate_limit_answers_429_with_retry_after(sandbox):
    into = time.time() % 60  # keep the three requests in one minute's window
    if into > 55:
        time.sleep(60 - into + 0.05)
    with override_settings(SANDBOX_RATE_LIMIT="2/m"):
        answers = [
            requests.post(f"{sandbox}/analyticsoverview", timeout=10) for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert answers[2].json()["success"] is False
    assert answers[0].json()["errorcode"] == 101  # counted before the JWT check
