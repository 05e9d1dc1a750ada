"""How sandbox rows read as SameSurf answers, and the ids SameSurf would mint."""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import UTC, datetime, timedelta

from .models import Room

LINK = "https://realtime.samesurf.com/{room}/{token}"
CITIES = [
    ("London", "United Kingdom"),
    ("Manchester", "United Kingdom"),
    ("Dublin", "Ireland"),
    ("New York", "United States"),
    ("Austin", "United States"),
    ("Toronto", "Canada"),
    ("Berlin", "Germany"),
]
GUESTS = ["Visitor", "Ana Lima", "Sam Patel", "Jo Chen", "Kim Berg", "Lee Ortiz"]


def stamp(value: datetime | None) -> str | None:
    """SameSurf's time format: UTC with a Z ("2016-12-19T14:20:22Z")."""
    if value is None:
        return None
    # isoformat to the second (as the strftime it replaces), several times faster.
    return value.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"


def new_token(rng: random.Random | None = None) -> str:
    if rng is None:
        return secrets.token_hex(6).upper()
    return f"{rng.getrandbits(48):012X}"


def new_number(rng: random.Random | None = None) -> str:
    if rng is None:
        return str(secrets.randbelow(900_000_000) + 100_000_000)
    return str(rng.randrange(100_000_000, 1_000_000_000))


def invitations(room: Room) -> dict:
    """The leader's link is the private invitation, the invitees' the public one
    (as the docs' `create` example has them)."""
    return {
        "privateinvitation": LINK.format(room=room.number, token=room.leader_token),
        "publicinvitation": LINK.format(room=room.number, token=room.token),
    }


def created(room: Room) -> dict:
    return {
        "room": room.number,
        "token": room.token,
        "leadertoken": room.leader_token,
        **invitations(room),
    }


def running(room: Room) -> dict:
    return {
        "room": room.number,
        "starttime": stamp(room.started_at),
        **invitations(room),
        "title": room.title,
    }


#: The columns of a past room's answer, in `past_from`'s order.
PAST_COLUMNS = (
    "number",
    "version",
    "title",
    "started_at",
    "duration",
    "recordings",
    "experience",
)


def past(room: Room) -> dict:
    return past_from(tuple(getattr(room, name) for name in PAST_COLUMNS))


def past_from(values: tuple) -> dict:
    """`past` from a row of `PAST_COLUMNS` (a listing reads those only: no
    model instance, no decoding of the room's options)."""
    number, version, title, started_at, duration, recordings, experience = values
    return {
        "room": number,
        "version": version,
        "title": title,
        "date": stamp(started_at),
        "duration": duration,
        "screenrecordings": recordings,
        "experience": experience,
    }


def analytics(room: Room) -> dict:
    """`roomanalytics` of one room: made up from its number and version, the
    same every time (events and users are not stored)."""
    digest = hashlib.sha256(f"{room.number}:{room.version}".encode()).digest()
    rng = random.Random(digest)
    start = room.started_at
    end = room.ended_at or start + timedelta(minutes=rng.randrange(2, 40))
    span = max(1, int((end - start).total_seconds()))
    users = []
    host_guid = digest.hex()[:40].upper()
    city, country = rng.choice(CITIES)
    users.append(
        {
            "guid": host_guid,
            "host": True,
            "joinedat": stamp(start),
            "leftat": stamp(end),
            "name": "Host",
            "ipaddress": f"198.51.100.{rng.randrange(1, 255)}",
            "city": city,
            "country": country,
        }
    )
    events = [
        {
            "type": "start",
            "date": stamp(start),
            "sender": "",
            "target": "",
            "data": room.number,
        },
        {
            "type": "url",
            "date": stamp(start),
            "sender": host_guid,
            "target": "",
            "data": room.start_url,
        },
    ]
    for i in range(rng.randrange(1, 4)):
        joined = start + timedelta(seconds=rng.randrange(0, span))
        left = joined + timedelta(
            seconds=rng.randrange(1, max(2, int((end - joined).total_seconds())))
        )
        guid = hashlib.sha1(digest + bytes([i])).hexdigest().upper()  # noqa: S324 - an id
        city, country = rng.choice(CITIES)
        users.append(
            {
                "guid": guid,
                "host": False,
                "joinedat": stamp(joined),
                "leftat": stamp(min(left, end)),
                "name": rng.choice(GUESTS),
                "ipaddress": f"203.0.113.{rng.randrange(1, 255)}",
                "city": city,
                "country": country,
            }
        )
        events.append(
            {
                "type": "join",
                "date": stamp(joined),
                "sender": guid,
                "target": "",
                "data": "",
            }
        )
        events.append(
            {
                "type": "leave",
                "date": stamp(min(left, end)),
                "sender": guid,
                "target": "",
                "data": "",
            }
        )
    if room.ended_at:
        events.append(
            {"type": "end", "date": stamp(end), "sender": "", "target": "", "data": ""}
        )
    events.sort(key=lambda e: e["date"])
    return {"title": room.title or None, "events": events, "users": users}
