"""The sandbox refuses what SameSurf refuses, with the documented errorcode and
HTTP 200 (as every documented answer is): a bad JWT (101), every missing
required field, every value rule. Raw HTTP, so nothing the client does hides a
refusal."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests

from vendors.samesurf.sandbox.api import IAT_SKEW_SECONDS, MESSAGES
from vendors.samesurf.sandbox.models import ApiKey, Room

from .conftest import (
    CLIENT_KEY,
    CLIENT_SECRET,
    RESELLER_KEY,
    RESELLER_NAME,
    RESELLER_SECRET,
    SANDBOX,
)

pytestmark = SANDBOX


def token(claims: dict | None = None, secret: str = RESELLER_SECRET, **kw) -> str:
    payload = (
        {"iat": int(time.time()), "sub": RESELLER_KEY} if claims is None else claims
    )
    return jwt.encode(payload, secret, **({"algorithm": "HS256"} | kw))


def post(sandbox: str, method: str, body=None, *, auth: str | None = None, **kw):
    headers = {"Authorization": auth if auth is not None else f"Bearer {token()}"}
    return requests.post(
        f"{sandbox}/{method}", json=body, headers=headers, timeout=10, **kw
    )


def refused(response, code: int) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is False and body["errorcode"] == code, body
    assert body["error"].startswith(MESSAGES[code])


# --- the JWT ------------------------------------------------------------------------
NOW = int(time.time())
KEY = RESELLER_KEY
BAD_TOKENS = {
    "no header": "",
    "not bearer": f"Basic {token()}",
    "bearer without token": "Bearer ",
    "not a jwt": "Bearer not.a.jwt",
    "wrong secret": f"Bearer {token(secret='another-secret-of-enough-length-012345')}",
    "no sub": f"Bearer {token({'iat': NOW})}",
    "no iat": f"Bearer {token({'sub': RESELLER_KEY})}",
    "iat not a number": f"Bearer {token({'iat': 'yesterday', 'sub': RESELLER_KEY})}",
    "unknown key": f"Bearer {token({'iat': NOW, 'sub': 'no-such-key'})}",
    "unsigned, not enabled for the key": "Bearer "
    + jwt.encode({"iat": NOW, "sub": RESELLER_KEY}, None, algorithm="none"),
    "iat far in the future": f"Bearer {token({'iat': NOW + 3600, 'sub': KEY})}",
    "expired": f"Bearer {token({'iat': NOW - 60, 'exp': NOW - 30, 'sub': KEY})}",
    "another key's secret": f"Bearer {token(secret=CLIENT_SECRET)}",
}


@pytest.mark.parametrize("auth", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_jwt_is_101(sandbox, auth):
    refused(post(sandbox, "analyticsoverview", auth=auth), 101)


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": NOW - 365 * 24 * 3600, "sub": RESELLER_KEY},  # no maximum age
        {"iat": NOW + IAT_SKEW_SECONDS - 60, "sub": RESELLER_KEY},  # clock skew
        {"iat": float(NOW), "sub": RESELLER_KEY, "extra": 1},
    ],
    ids=["a year old", "a little ahead", "float iat, extra claim"],
)
def test_lenient_about_the_age_and_skew_of_iat(sandbox, claims):
    answer = post(sandbox, "analyticsoverview", auth=f"Bearer {token(claims)}")
    assert answer.json()["success"] is True


def test_an_unsigned_token_works_where_the_key_enables_it(sandbox):
    ApiKey.objects.filter(key=CLIENT_KEY).update(allow_none=True)
    unsigned = jwt.encode({"iat": NOW, "sub": CLIENT_KEY}, None, algorithm="none")
    assert post(sandbox, "analyticsoverview", auth=f"Bearer {unsigned}").json()[
        "success"
    ]
    ApiKey.objects.filter(key=CLIENT_KEY).update(allow_none=False)


# --- every required field and value rule ---------------------------------------
FUTURE = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S")
PAST = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S")
SCHEDULED = {"starturl": "https://a.test", "eventtime": FUTURE + "Z"}

CASES = [
    # (method, body, errorcode)
    ("runningrooms", {"skip": -1}, 100),
    ("runningrooms", {"limit": 0}, 100),
    ("runningrooms", {"limit": "ten"}, 100),
    ("create", {"starturl": "javascript:alert(1)"}, 105),
    ("create", {"bookmarks": [{"name": "x"}]}, 100),
    ("create", {"bookmarks": "https://a.test"}, 100),
    ("create", {"session": {"cookies": [{"domain": "a.test", "name": "n"}]}}, 100),
    ("create", {"session": {"storage": [{"domain": "a.test"}]}}, 100),
    ("create", {"disabledfeatures": ["MODE_TELEPORT"]}, 100),
    ("create", {"eventtime": FUTURE + "Z"}, 105),  # a scheduled room needs a start
    ("create", {**SCHEDULED, "eventtime": "next tuesday"}, 108),
    ("create", {**SCHEDULED, "eventtime": "2030-02-30T10:00:00Z"}, 108),
    ("create", {**SCHEDULED, "eventtime": FUTURE}, 106),  # no Z, no zone
    ("create", {**SCHEDULED, "eventtime": FUTURE, "timezone": "Mars/Olympus"}, 107),
    ("create", {**SCHEDULED, "eventtime": PAST + "Z"}, 122),
    ("create", {**SCHEDULED, "lengthinminutes": 0}, 123),
    ("create", {**SCHEDULED, "invitees": "ana@example.net,not-an-address"}, 104),
    ("find", {}, 102),
    ("find", {"room": "000000001"}, 102),
    ("createlimitedusetoken", {"usagelimit": 1, "isleader": True}, 102),
    ("createlimitedusetoken", {"room": "@running", "isleader": True}, 125),
    (
        "createlimitedusetoken",
        {"room": "@running", "usagelimit": 0, "isleader": True},
        125,
    ),
    ("createlimitedusetoken", {"room": "@running", "usagelimit": 1}, 100),
    (
        "createlimitedusetoken",
        {"room": "@past", "usagelimit": 1, "isleader": False},
        103,
    ),
    ("deletelimitedusetoken", {}, 112),
    ("deletelimitedusetoken", {"token": "NOSUCHTOKEN0"}, 112),
    ("screenrecordingpubliclink", {}, 102),
    ("screenrecordingpubliclink", {"room": "@past", "recording": 99}, 109),
    ("screenrecordingthumbnail", {}, 102),
    ("screenrecordingthumbnail", {"room": "@past", "recording": 99}, 109),
    ("screenrecordingimage", {}, 102),
    ("screenrecordingimage", {"room": "@past", "width": 0}, 111),
    ("screenrecordingimage", {"room": "@past", "height": 100000}, 111),
    ("screenrecordingpubliclink", {"room": "@past", "validfor": 0}, 100),
    ("analyticsrooms", {"start_date": "01.02.2026"}, 108),
    ("analyticsrooms", {"timezone": "Nowhere/Town"}, 107),
    ("analyticsrooms", {"take": 0}, 100),
    ("roomanalytics", {}, 102),
    ("roomanalytics", {"room": "@past", "version": 7}, 102),
    ("reseller/createsubscription", {"licensecount": 1}, 115),
    ("reseller/createsubscription", {"name": "  ", "licensecount": 1}, 115),
    ("reseller/createsubscription", {"name": "New sub"}, 124),
    ("reseller/createsubscription", {"name": "New sub", "licensecount": 0}, 124),
    ("reseller/createsubscription", {"name": RESELLER_NAME, "licensecount": 1}, 114),
    (
        "reseller/createsubscription",
        {
            "name": "New sub",
            "licensecount": 1,
            "configuration_overrides": [{"key": "x"}],
        },
        121,
    ),
    (
        "reseller/createsubscription",
        {
            "name": "New sub",
            "licensecount": 1,
            "configuration_overrides": [{"key": "teleport", "value": "on"}],
        },
        121,
    ),
    (
        "reseller/createsubscription",
        {"name": "New sub", "licensecount": 1, "disabled_features": ["NOPE"]},
        121,
    ),
    ("reseller/deletesubscription", {}, 115),
    ("reseller/deletesubscription", {"name": "No such subscription"}, 118),
    ("reseller/deletesubscription", {"name": RESELLER_NAME}, 117),
    ("reseller/createapikey", {}, 115),
    ("reseller/createapikey", {"subscription": "No such subscription"}, 118),
    ("reseller/createapikey", {"subscription": RESELLER_NAME}, 117),
    ("nosuchmethod", {}, 100),
]


@pytest.fixture
def rooms(_seed_snapshot) -> dict:
    """A running room and a past room with a recording of the reseller, by number
    (read from the seed, not asked for)."""
    mine = [r for r in _seed_snapshot[Room] if r.subscription.name == RESELLER_NAME]
    running = next(r for r in mine if r.started_at and not r.ended_at)
    past = next(r for r in mine if r.ended_at and r.recordings)
    return {"@running": running.number, "@past": past.number}


@pytest.mark.parametrize(
    ("method", "body", "code"),
    CASES,
    ids=[f"{m}-{c}-{i}" for i, (m, _, c) in enumerate(CASES)],
)
def test_the_sandbox_refuses_with_the_documented_code(
    sandbox, rooms, method, body, code
):
    if isinstance(body.get("room"), str) and body["room"].startswith("@"):
        body = {**body, "room": rooms[body["room"]]}
    refused(post(sandbox, method, body), code)


def test_a_client_subscription_may_not_make_reseller_calls(sandbox):
    client = f"Bearer {token({'iat': NOW, 'sub': CLIENT_KEY}, secret=CLIENT_SECRET)}"
    for method in ("createsubscription", "deletesubscription", "createapikey"):
        refused(post(sandbox, f"reseller/{method}", {"name": "x"}, auth=client), 116)


def test_a_body_that_is_not_json_or_not_an_object(sandbox):
    headers = {"Authorization": f"Bearer {token()}", "Content-Type": "application/json"}
    for data in (b"{not json", b"[1, 2]"):
        answer = requests.post(
            f"{sandbox}/runningrooms", data=data, headers=headers, timeout=10
        )
        refused(answer, 100)


def test_only_post(sandbox):
    answer = requests.get(
        f"{sandbox}/runningrooms",
        headers={"Authorization": f"Bearer {token()}"},
        timeout=10,
    )
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
    assert answer.json()["errorcode"] == 100


def test_the_documented_scheduled_example_is_accepted(sandbox):
    """The docs' example body (wall time in a zone, no Z) and the dd/MM/yyyy
    form their parameter list names."""
    year = datetime.now(UTC).year + 1
    for eventtime in (f"{year}-02-22T16:30:00", f"22/02/{year}T16:30:00"):
        body = {
            "starturl": "http://www.samesurf.com",
            "title": "Product Demo",
            "eventtime": eventtime,
            "timezone": "Europe/London",
        }
        answer = post(sandbox, "create", body).json()
        assert answer["success"] is True and answer["room"] and answer["leadertoken"]
