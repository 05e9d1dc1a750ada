"""The SameSurf client against a faked API (`responses`, every call must happen):
the JWT it signs, the body of every operation, the error envelope (also on HTTP
200), both paging styles and lenient parsing."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import jwt
import pytest
import responses
from django.test import override_settings
from responses import matchers

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.http import one_quick_try
from vendors.samesurf.client import ERRORS, NotReseller, SameSurfClient

BASE = "https://api.samesurf.test/api/v3"
KEY, SECRET = "ss-key-0123456789", "ss-secret-abcdefghijklmnopqrstuvwxyz-0123"
OK = {"success": True}


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def ss() -> SameSurfClient:
    return SameSurfClient(BASE, {"api_key": KEY, "api_secret": SECRET})


def body(expected: dict):
    return [matchers.json_params_matcher(expected, strict_match=True)]


def claims(call) -> dict:
    scheme, _, token = call.request.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    return jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_iat": False}
    )


# --- auth ---------------------------------------------------------------------------
def test_every_request_carries_a_fresh_jwt_signed_with_the_secret(api, ss, monkeypatch):
    api.add(responses.POST, f"{BASE}/analyticsoverview", json={**OK, "rooms_total": 1})
    api.add(responses.POST, f"{BASE}/analyticsoverview", json={**OK, "rooms_total": 1})
    before = int(time.time())
    ss.analytics_overview()
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.5)
    ss.analytics_overview()
    first, second = (claims(c) for c in api.calls)
    assert first["sub"] == second["sub"] == KEY
    assert isinstance(first["iat"], int) and before <= first["iat"] <= before + 2
    assert second["iat"] == 2_000_000_000  # built when sent, whole seconds
    assert set(first) == {"iat", "sub"}
    # The secret signs; it is never sent.
    for call in api.calls:
        assert SECRET not in call.request.headers["Authorization"]
        assert SECRET not in (call.request.body or b"").decode()


def test_a_token_signed_with_another_secret_does_not_verify(api, ss):
    api.add(responses.POST, f"{BASE}/analyticsoverview", json=OK)
    ss.analytics_overview()
    token = api.calls[0].request.headers["Authorization"].split()[1]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, "another-secret-of-enough-length-0123456789", algorithms=["HS256"]
        )


def test_check_connection_reads_the_overview(api, ss):
    api.add(
        responses.POST, f"{BASE}/analyticsoverview", json={**OK, "rooms_total": 131}
    )
    assert (
        ss.check_connection() == "API key and secret accepted (131 rooms in analytics)"
    )
    assert api.calls[0].request.body is None  # documented Content-Length: 0


# --- one body per operation -----------------------------------------------------------
ROOM = {
    "room": "123456789",
    "token": "TOKEN1",
    "leadertoken": "LEAD1",
    "privateinvitation": "https://realtime.samesurf.com/123456789/LEAD1",
    "publicinvitation": "https://realtime.samesurf.com/123456789/TOKEN1",
    **OK,
}


def test_create_room_sends_every_option(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/create",
        match=body(
            {
                "starturl": "https://www.samesurf.com",
                "title": "Product demo",
                "bookmarks": [{"name": "SameSurf", "link": "https://www.samesurf.com"}],
                "session": {
                    "cookies": [
                        {
                            "domain": "twitter.com",
                            "path": "/",
                            "name": "auth_token",
                            "value": "v",
                            "secure": True,
                            "httponly": True,
                        }
                    ],
                    "storage": [{"domain": "my.test", "name": "n", "value": "x"}],
                },
                "disabledfeatures": ["MODE_LOGOUT", "TOOLS_VIDEO_CHAT"],
            }
        ),
        json=ROOM,
    )
    room = ss.create_room(
        "https://www.samesurf.com",
        title="Product demo",
        bookmarks=[{"name": "SameSurf", "link": "https://www.samesurf.com"}],
        cookies=[
            {
                "domain": "twitter.com",
                "path": "/",
                "name": "auth_token",
                "value": "v",
                "secure": True,
                "httponly": True,
            }
        ],
        storage=[{"domain": "my.test", "name": "n", "value": "x"}],
        disabled_features=["MODE_LOGOUT", "TOOLS_VIDEO_CHAT"],
    )
    assert room.room == "123456789" and room.leader_token == "LEAD1"
    assert room.leader_link.endswith("/LEAD1") and room.invitee_link.endswith("/TOKEN1")


def test_create_room_without_options_sends_an_empty_object(api, ss):
    api.add(responses.POST, f"{BASE}/create", match=body({}), json=ROOM)
    assert ss.create_room().room == "123456789"


def test_the_leader_link_is_the_one_ending_in_the_leader_token(api, ss):
    # runningrooms' example swaps the fields: the tokens decide, not the names.
    swapped = {
        **ROOM,
        "privateinvitation": ROOM["publicinvitation"],
        "publicinvitation": ROOM["privateinvitation"],
    }
    api.add(responses.POST, f"{BASE}/create", json=swapped)
    room = ss.create_room()
    assert room.leader_link.endswith("/LEAD1") and room.invitee_link.endswith("/TOKEN1")


def test_create_scheduled_room_in_a_time_zone(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/create",
        match=body(
            {
                "starturl": "https://www.samesurf.com",
                "title": "Product Demo",
                "eventtime": "2030-02-22T16:30:00",
                "timezone": "Europe/London",
                "lengthinminutes": 45,
                "invitees": "a@example.com,b@example.com",
                "invitemessage": "See you there",
            }
        ),
        json=ROOM,
    )
    ss.create_scheduled_room(
        datetime(2030, 2, 22, 16, 30, tzinfo=UTC),  # London is on UTC in February
        timezone="Europe/London",
        length_minutes=45,
        invitees=["a@example.com", " b@example.com"],
        invite_message="See you there",
        starturl="https://www.samesurf.com",
        title="Product Demo",
    )


def test_a_scheduled_utc_time_carries_the_z(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/create",
        match=body({"eventtime": "2030-07-01T09:00:00Z", "starturl": "https://a.test"}),
        json=ROOM,
    )
    ss.create_scheduled_room(
        datetime(2030, 7, 1, 11, 0, tzinfo=ZoneInfo("Europe/Paris")),
        starturl="https://a.test",
    )


def test_find_room(api, ss):
    api.add(
        responses.POST, f"{BASE}/find", match=body({"room": "123456789"}), json=ROOM
    )
    assert ss.find_room(123456789).token == "TOKEN1"


def test_limited_use_tokens(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/createlimitedusetoken",
        match=body(
            {"room": "1", "usagelimit": 2, "isleader": True, "usersname": "Ann"}
        ),
        json={"token": "T", "link": "https://realtime.samesurf.com/1/T", **OK},
    )
    api.add(
        responses.POST,
        f"{BASE}/createlimitedusetoken",
        match=body({"room": "1", "usagelimit": 1, "isleader": False}),
        json={"token": "U", "link": "javascript:alert(1)", **OK},
    )
    api.add(
        responses.POST,
        f"{BASE}/deletelimitedusetoken",
        match=body({"token": "T"}),
        json=OK,
    )
    made = ss.create_limited_use_token("1", 2, True, "Ann")
    assert (made.token, made.link) == ("T", "https://realtime.samesurf.com/1/T")
    assert ss.create_limited_use_token("1", 1, False).link == ""  # never a script link
    assert ss.delete_limited_use_token("T") is None


@pytest.mark.parametrize(
    ("method", "call", "sent"),
    [
        (
            "screenrecordingpubliclink",
            lambda c: c.recording_public_link("9", 2, 30),
            {"room": "9", "recording": 2, "validfor": 30},
        ),
        (
            "screenrecordingthumbnail",
            lambda c: c.recording_thumbnail("9"),
            {"room": "9"},
        ),
        (
            "screenrecordingimage",
            lambda c: c.recording_image("9", 0, 10, width=400),
            {"room": "9", "recording": 0, "validfor": 10, "width": 400},
        ),
    ],
)
def test_recording_links(api, ss, method, call, sent):
    api.add(
        responses.POST,
        f"{BASE}/{method}",
        match=body(sent),
        json={"link": "https://cdn.samesurf.test/rec.png", **OK},
    )
    assert call(ss) == "https://cdn.samesurf.test/rec.png"


def test_a_recording_link_that_is_no_url_is_dropped(api, ss):
    # The docs' own example answers "temp_url_to_video".
    api.add(
        responses.POST,
        f"{BASE}/screenrecordingpubliclink",
        json={"link": "temp_url_to_video", **OK},
    )
    assert ss.recording_public_link("9") == ""


def test_analytics_overview_is_parsed(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/analyticsoverview",
        json={
            "url_latest": "http://www.google.com",
            "url_most_popular": "google.com",
            "rooms_total": 131,
            "rooms_today": "20",
            "rooms_thisweek": 43,
            "rooms_thismonth": 102,
            "averageduration_alltime": 34,
            "averageduration_today": 28,
            "averageduration_thisweek": 33,
            "averageduration_thismonth": 33,
            **OK,
        },
    )
    o = ss.analytics_overview()
    assert (o.rooms_total, o.rooms_today, o.rooms_this_week) == (131, 20, 43)
    assert o.average_minutes_all_time == 34 and o.url_latest == "http://www.google.com"
    assert o.url_most_popular == "google.com"


def test_room_analytics_events_and_users(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/roomanalytics",
        match=body({"room": "123456789", "version": 1}),
        json={
            "title": None,
            "events": [
                {
                    "type": "start",
                    "date": "2017-01-13T10:10:26Z",
                    "sender": "",
                    "target": "",
                    "data": "564906354",
                },
                "garbage",
            ],
            "users": [
                {
                    "guid": "F65C",
                    "host": True,
                    "joinedat": "2017-01-13T10:10:26Z",
                    "leftat": "2017-01-13T10:11:06Z",
                    "name": "Host",
                    "ipaddress": "1.2.3.4",
                    "city": "London",
                    "country": "United Kingdom",
                }
            ],
            **OK,
        },
    )
    a = ss.room_analytics("123456789", version=1)
    assert a.title == "" and [e.type for e in a.events] == ["start"]
    user = a.users[0]
    assert user.host and user.name == "Host" and user.country == "United Kingdom"
    assert (user.left_at - user.joined_at).total_seconds() == 40


def test_reseller_operations(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/reseller/createsubscription",
        match=body(
            {
                "name": "Globex",
                "licensecount": 10,
                "configuration_overrides": [
                    {"key": "communications_active", "value": "false"},
                    {"key": "default_logout_url", "value": "http://www.mywebsite.com"},
                ],
                "bookmarks": [{"name": "Home", "link": "https://globex.test"}],
                "disabled_features": ["MODE_SCREEN_SHARE", "MODE_VIDEO_SHARE"],
            }
        ),
        json=OK,
    )
    api.add(
        responses.POST,
        f"{BASE}/reseller/createapikey",
        match=body({"subscription": "Globex"}),
        json={**OK, "apikey": "new-key", "apisecret": "new-secret"},
    )
    api.add(
        responses.POST,
        f"{BASE}/reseller/deletesubscription",
        match=body({"name": "Globex"}),
        json=OK,
    )
    ss.create_subscription(
        "Globex",
        10,
        overrides={
            "communications_active": False,
            "default_logout_url": "http://www.mywebsite.com",
        },
        bookmarks=[{"name": "Home", "link": "https://globex.test"}],
        disabled_features=["MODE_SCREEN_SHARE", "MODE_VIDEO_SHARE"],
    )
    key = ss.create_api_key("Globex")
    assert (key.api_key, key.api_secret) == ("new-key", "new-secret")
    assert "new-secret" not in repr(key)
    ss.delete_subscription("Globex")


def test_an_api_key_answer_without_a_secret_is_refused(api, ss):
    api.add(responses.POST, f"{BASE}/reseller/createapikey", json={**OK, "apikey": "k"})
    with pytest.raises(errors.MalformedResponse):
        ss.create_api_key("Globex")


# --- paging ---------------------------------------------------------------------
def running(skip: int, n: int, total) -> dict:
    link = "https://realtime.samesurf.com/{}/{}"
    return {
        "rooms": [
            {
                "room": 1000 + skip + i,  # a number, not a string: read as text
                "starttime": "2016-12-19T14:20:22Z",
                "publicinvitation": link.format(1000 + skip + i, "L"),
                "privateinvitation": link.format(1000 + skip + i, "T"),
                "title": "Room Title",
            }
            for i in range(n)
        ],
        "totalrooms": total,
        **OK,
    }


def test_running_rooms_page_with_skip_and_limit(api, ss):
    ss.room_pager.limit = 2
    for skip, n in ((0, 2), (2, 2), (4, 1)):
        api.add(
            responses.POST,
            f"{BASE}/runningrooms",
            match=body({"skip": skip, "limit": 2}),
            json=running(skip, n, 5),
        )
    pages = list(ss.running_rooms())
    assert [p.cursor for p in pages] == [{"skip": 2}, {"skip": 4}, {"skip": 5}]
    rooms = [r for p in pages for r in p.items]
    assert [r.room for r in rooms] == ["1000", "1001", "1002", "1003", "1004"]
    assert rooms[0].started_at == datetime(2016, 12, 19, 14, 20, 22, tzinfo=UTC)


def test_running_rooms_resume_after_a_page(api, ss):
    ss.room_pager.limit = 2
    api.add(
        responses.POST,
        f"{BASE}/runningrooms",
        match=body({"skip": 4, "limit": 2}),
        json=running(4, 1, 5),
    )
    assert [len(p.items) for p in ss.running_rooms(resume={"skip": 4})] == [1]


def analytics(skip: int, n: int, total) -> dict:
    return {
        "total_rooms": total,
        "rooms": [
            {
                "room": str(2000 + skip + i),
                "title": "Product Demo",
                "date": "2017-01-13T10:10:16Z",
                "duration": "1234",
                "screenrecordings": 1,
                "version": i % 2,
            }
            for i in range(n)
        ],
        **OK,
    }


def test_analytics_rooms_page_with_skip_and_take_and_a_text_total(api, ss):
    ss.analytics_pager.limit = 3
    window = {
        "start_date": "2026-11-01T00:00:00",
        "end_date": "2026-12-01T00:00:00",
        "timezone": "Europe/London",
    }
    for skip, n in ((0, 3), (3, 1)):
        api.add(
            responses.POST,
            f"{BASE}/analyticsrooms",
            match=body({**window, "skip": skip, "take": 3}),
            json=analytics(skip, n, "4"),
        )
    pages = list(
        ss.analytics_rooms(date(2026, 11, 1), date(2026, 12, 1), "Europe/London")
    )
    assert [p.total for p in pages] == [4, 4] and pages[-1].cursor == {"skip": 4}
    rooms = [r for p in pages for r in p.items]
    assert [r.key for r in rooms] == ["2000:0", "2001:1", "2002:0", "2003:0"]
    assert rooms[0].duration == 1234 and rooms[0].recordings == 1


def test_analytics_rooms_without_a_zone_send_utc_with_a_z(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/analyticsrooms",
        match=body({"start_date": "2026-11-30T23:00:00Z", "skip": 0, "take": 100}),
        json=analytics(0, 0, "0"),
    )
    start = datetime(2026, 12, 1, 0, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert [p.items for p in ss.analytics_rooms(start)] == [[]]


# --- errors ---------------------------------------------------------------------
def fail(code: int, text: str = "vendor words", status: int = 200) -> dict:
    return {
        "json": {"success": False, "error": text, "errorcode": code},
        "status": status,
    }


FIELD_OF = {
    104: "invitees",
    105: "starturl",
    106: "timezone",
    107: "timezone",
    108: "eventtime",
    115: "name",
    122: "eventtime",
    123: "lengthinminutes",
    124: "licensecount",
    125: "usagelimit",
}
NOT_FOUND = {109, 112, 113, 118, 119}


def test_every_documented_code_is_mapped():
    assert set(ERRORS) == set(range(100, 126)) - {110}


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_an_error_envelope_on_http_200_raises_the_mapped_error(api, ss, code):
    api.add(responses.POST, f"{BASE}/create", **fail(code))
    with pytest.raises(errors.VendorError) as info:
        ss.create_room()
    exc = info.value
    assert exc.vendor_code == code and exc.status == 200
    # A sentence a person reads, not SameSurf's terse text; that goes to the log.
    assert exc.user_message() == ERRORS[code][2] and "vendor words" in str(exc)
    if code == 101:
        assert type(exc) is errors.AuthError
    if code in (116, 117):
        assert isinstance(exc, NotReseller)
    if code in NOT_FOUND:
        assert type(exc) is errors.NotFound
    if code in FIELD_OF:
        assert type(exc) is errors.PermanentVendorError
        assert exc.field_errors == {FIELD_OF[code]: [ERRORS[code][2]]}
    if code in (100, 111, 121):
        assert exc.transient


def test_an_envelope_with_a_4xx_status_is_read_the_same_way(api, ss):
    api.add(responses.POST, f"{BASE}/create", **fail(101, status=401))
    with pytest.raises(errors.AuthError) as info:
        ss.create_room()
    assert info.value.vendor_code == 101 and info.value.status == 401


def test_an_unknown_code_keeps_samesurfs_words(api, ss):
    api.add(responses.POST, f"{BASE}/create", **fail(131, "Webhook quota reached"))
    with pytest.raises(errors.PermanentVendorError) as info:
        ss.create_room()
    assert info.value.user_message() == "Webhook quota reached"


def test_a_code_sent_as_text_is_read(api, ss):
    api.add(
        responses.POST,
        f"{BASE}/find",
        json={"success": False, "error": "x", "errorcode": "112"},
    )
    with pytest.raises(errors.NotFound):
        ss.find_room("1")


@pytest.mark.parametrize(
    ("kw", "cls"),
    [
        ({"status": 500, "body": "<h1>down</h1>"}, errors.TransientVendorError),
        ({"status": 200, "body": '{"rooms": [tru'}, errors.MalformedResponse),
        ({"status": 200, "json": ["not", "an", "object"]}, errors.MalformedResponse),
        ({"status": 429, "json": fail(100)["json"]}, errors.RateLimited),
        ({"status": 400, "body": "nope"}, errors.PermanentVendorError),
    ],
)
def test_http_failures(api, ss, kw, cls):
    api.add(responses.POST, f"{BASE}/create", **kw)
    with pytest.raises(cls):
        ss.create_room()


@override_settings(VENDOR_BACKOFF_MAX=0)
def test_reads_are_sent_again_after_a_transient_failure(api, ss):
    api.add(responses.POST, f"{BASE}/find", status=503)
    api.add(responses.POST, f"{BASE}/find", status=429, headers={"Retry-After": "0"})
    api.add(responses.POST, f"{BASE}/find", json=ROOM)
    assert ss.find_room("123456789").room == "123456789"
    assert ss.requests_made == 3


@override_settings(VENDOR_BACKOFF_MAX=0)
def test_writes_are_never_sent_twice(api, ss):
    api.add(responses.POST, f"{BASE}/create", status=503)
    with pytest.raises(errors.TransientVendorError):
        ss.create_room()
    assert ss.requests_made == 1


@override_settings(VENDOR_BACKOFF_MAX=0)
def test_one_quick_try_reads_once(api, ss):
    api.add(responses.POST, f"{BASE}/find", status=503)
    with one_quick_try(), pytest.raises(errors.TransientVendorError):
        ss.find_room("1")
    assert ss.requests_made == 1
