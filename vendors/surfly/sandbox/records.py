"""Surfly's payload shapes, built from sandbox rows, plus identifier makers.

Shapes and key order follow the spec's examples. Type drift is deliberate and
matches the spec: `agent_id` is an integer on agents, a string on sessions and
history items, a string on agent create; `duration` is a string (or null) on
sessions but an integer in history and on a reseller's client-session list.
"""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime
from typing import Any

from .models import Agent, Company, SandboxSession, Webhook

ALPHABET = string.ascii_letters + string.digits
SERVERS = [
    {"description": "Germany, Nuremberg", "id": "10", "region": "eu",
     "ips": "192.0.2.10, 192.0.2.11"},
    {"description": "Netherlands, Amsterdam", "id": "11", "region": "eu",
     "ips": "192.0.2.20, 192.0.2.21"},
    {"description": "USA, Ashburn", "id": "20", "region": "us",
     "ips": "198.51.100.10, 198.51.100.11"},
    {"description": "Singapore", "id": "30", "region": "ap",
     "ips": "203.0.113.10"},
]  # fmt: skip
SERVER_HOSTS = [
    "session.surfly.com",
    "eu1.session.surfly.com",
    "us1.session.surfly.com",
]


def iso(value: datetime | None) -> str | None:
    """Surfly's timestamps: UTC, microseconds, trailing Z."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def token(rng: random.Random, length: int = 22) -> str:
    return "".join(rng.choices(ALPHABET, k=length))


def hex_key(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def session_ids(rng: random.Random) -> tuple[str, str, str]:
    """(id, session_id, formatted_id). The spec's examples show `id` as
    `session_id` plus one character, so the sandbox does the same."""
    session_id = token(rng, 22)
    digits = f"{rng.randrange(10**9):09d}"
    return (
        session_id + rng.choice(ALPHABET),
        session_id,
        "-".join((digits[:3], digits[3:6], digits[6:])),
    )


def agent_payload(agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent.pk,
        "agent_name": agent.name,
        "agent_email": agent.email,
        "last_login": iso(agent.last_login),
        "role": agent.role,
        "available": agent.available,
    }


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def session_payload(s: SandboxSession, options: dict) -> dict[str, Any]:
    """A session as `GET /sessions/` and friends show it."""
    return {
        "tags": list(s.tags),
        "id": s.raw_id,
        "session_id": s.session_id,
        "formatted_id": s.formatted_id,
        "agent_id": _str_or_none(s.agent_id),
        "follower_link": s.follower_link,
        "cobro_server_name": s.server,
        "start_time": iso(s.start_time),
        "duration": _str_or_none(s.duration),
        "participant_num": s.participant_num,
        "end_time": iso(s.end_time),
        "successful_start": s.successful_start,
        "queue_id": s.queue_id,
        "pin": s.pin,
        "queued": s.queued,
        "waiting_time": _str_or_none(s.waiting_time),
        "start_url": s.start_url,
        "meta": s.meta,
        "opentok_archive_id": None,
        "space": None,
        "options": options,
    }


def created_payload(s: SandboxSession, options: dict) -> dict[str, Any]:
    """The create answer: a session plus `leader_link` (after `follower_link`)."""
    payload = session_payload(s, options)
    at = list(payload).index("follower_link") + 1
    items = list(payload.items())
    return dict([*items[:at], ("leader_link", s.leader_link), *items[at:]])


def history_record(s: SandboxSession) -> dict[str, Any]:
    """A history item without `options` (spliced in when a page is served).

    For a live session `duration` is null here; the page fills in the seconds
    elapsed so far, as the spec's example of a running session shows.
    """
    return {
        "tags": list(s.tags),
        "id": s.raw_id,
        "session_id": s.session_id,
        "formatted_id": s.formatted_id,
        "cobro_server_name": s.server,
        "agent_id": _str_or_none(s.agent_id),
        "follower_link": s.follower_link,
        "start_time": iso(s.start_time),
        "duration": s.duration,
        "end_time": iso(s.end_time),
        "successful_start": bool(s.successful_start),
        "queue_id": s.queue_id,
        "pin": s.pin,
        "queued": s.queued,
        "start_url": s.start_url,
        "meta": s.meta,
        "participant_num": s.participant_num,
    }


def dump_record(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def with_options(record_json: str, options_json: str) -> str:
    """Splice `"options": {...}` into a stored record (its last key)."""
    return f'{record_json[:-1]},"options":{options_json}}}'


def client_session_payload(s: SandboxSession, now: datetime) -> dict[str, Any]:
    """A reseller's view of a client's session (5 fields, integer duration)."""
    duration = s.duration
    if duration is None:
        duration = int((now - s.start_time).total_seconds())
    return {
        "session_id": s.session_id,
        "agent_id": s.agent_id,
        "follower_link": s.follower_link,
        "start_time": iso(s.start_time),
        "duration": duration,
    }


def client_payload(c: Company) -> dict[str, Any]:
    return {
        "company_name": c.name,
        "company_plan_name": c.plan,
        "client_key": c.client_key,
        "agent_count": c.agent_limit,
        "widget_key": c.widget_key,
        "rest_key": c.api_key,
        "domains": c.domains,
    }


def webhook_payload(w: Webhook) -> dict[str, Any]:
    return {
        "id": w.pk,
        "url": w.url,
        "category": w.category,
        "enabled": w.enabled,
        "ssl_verification": w.ssl_verification,
        "company_id": w.company_id,
    }
