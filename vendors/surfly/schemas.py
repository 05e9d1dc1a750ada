"""Typed Surfly payloads, parsed leniently.

Surfly's spec drifts in places (see vendor-apis.md §1.4): `agent_id` is a string in
lists and an integer elsewhere, `duration` is a nullable string on sessions and an
integer in history, `meta` is a JSON string inside JSON, and `successful_start`
may be null. Every parser here accepts all of those shapes, and anything the
spec does not document is kept in `raw`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cobrowse_portal.vendorkit.lenient import as_bool, as_dt, as_int
from cobrowse_portal.vendorkit.safeurl import safe_url

#: The three documented webhook event types; Surfly takes one category per webhook.
WEBHOOK_CATEGORIES = ("session.queued", "session.started", "session.ended")


def as_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def as_tags(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list):
        return [str(t) for t in value if t not in (None, "")]
    return []


def decode_meta(value: Any) -> Any:
    """`meta` is a JSON-encoded string; tolerate an object or garbage too."""
    if value in (None, ""):
        return {}
    if isinstance(value, dict | list):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return {"_unparsed": str(value)}


def as_dict(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
            return parsed if isinstance(parsed, dict) else {}
        except ValueError:
            return {}
    return {}


@dataclass
class Agent:
    agent_id: str
    name: str = ""
    email: str = ""
    role: str = "agent"
    available: bool | None = None
    last_login: datetime | None = None
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Agent:
        return cls(
            agent_id=as_str(d.get("agent_id") or d.get("id")) or "",
            name=d.get("agent_name") or d.get("username") or "",
            email=d.get("agent_email") or d.get("email") or "",
            role=d.get("role") or d.get("agent_role") or "agent",
            available=as_bool(d.get("available")),
            last_login=as_dt(d.get("last_login")),
            raw=d,
        )


@dataclass
class SessionInfo:
    id: str
    session_id: str | None = None
    formatted_id: str | None = None
    agent_id: str | None = None
    follower_link: str = ""
    leader_link: str = ""
    server: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    participant_num: int | None = None
    successful_start: bool | None = None
    queued: bool | None = None
    queue_id: int | None = None
    waiting_time: int | None = None
    pin: str | None = None
    start_url: str = ""
    meta: Any = None
    tags: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> SessionInfo:
        ident = as_str(d.get("id")) or as_str(d.get("session_id")) or ""
        return cls(
            id=ident,
            session_id=as_str(d.get("session_id")),
            formatted_id=as_str(d.get("formatted_id")),
            agent_id=as_str(d.get("agent_id")),
            # Only http(s) links are kept (vendorkit.safeurl); `raw` has the rest.
            follower_link=safe_url(d.get("follower_link"))
            or safe_url(d.get("viewer_link")),
            leader_link=safe_url(d.get("leader_link")),
            server=d.get("cobro_server_name") or "",
            start_time=as_dt(d.get("start_time")),
            end_time=as_dt(d.get("end_time")),
            duration=as_int(d.get("duration")),
            participant_num=as_int(d.get("participant_num")),
            successful_start=as_bool(d.get("successful_start")),
            queued=as_bool(d.get("queued")),
            queue_id=as_int(d.get("queue_id")),
            waiting_time=as_int(d.get("waiting_time")),
            pin=as_str(d.get("pin")),
            start_url=safe_url(d.get("start_url")),
            meta=decode_meta(d.get("meta")),
            tags=as_tags(d.get("tags")),
            options=as_dict(d.get("options")),
            raw=d,
        )

    @property
    def is_active(self) -> bool:
        return self.end_time is None


@dataclass
class AccessToken:
    agent_id: str | None
    token: str
    expires_in: int
    user_created: bool | None = None
    role: str | None = None

    @classmethod
    def parse(cls, d: dict) -> AccessToken:
        return cls(
            agent_id=as_str(d.get("agent_id")),
            token=str(d.get("agent_token") or ""),
            expires_in=as_int(d.get("expires_in")) or 86400,
            user_created=as_bool(d.get("user_created")),
            role=d.get("agent_role"),
        )


@dataclass
class Client:
    client_key: str
    company_name: str = ""
    plan: str = ""
    agent_count: int | None = None
    widget_key: str = ""
    rest_key: str = ""
    domains: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Client:
        return cls(
            client_key=as_str(d.get("client_key")) or "",
            company_name=d.get("company_name") or "",
            plan=d.get("company_plan_name") or "",
            agent_count=as_int(d.get("agent_count")),
            widget_key=as_str(d.get("widget_key")) or "",
            rest_key=as_str(d.get("rest_key")) or "",
            domains=as_tags(d.get("domains")),
            raw=d,
        )

    def safe_raw(self) -> dict:
        """The payload without the client's REST key (never stored in plain text)."""
        return {k: v for k, v in self.raw.items() if k != "rest_key"}


@dataclass
class Webhook:
    id: str
    url: str = ""
    category: str = ""
    enabled: bool = True
    ssl_verification: bool = True
    company_id: str | None = None
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Webhook:
        return cls(
            id=as_str(d.get("id")) or "",
            url=d.get("url") or "",
            category=d.get("category") or "",
            enabled=bool(as_bool(d.get("enabled"))),
            ssl_verification=as_bool(d.get("ssl_verification")) is not False,
            company_id=as_str(d.get("company_id")),
            raw=d,
        )


@dataclass
class Server:
    id: str
    description: str = ""
    region: str = ""
    ips: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Server:
        return cls(
            id=as_str(d.get("id")) or "",
            description=d.get("description") or "",
            region=d.get("region") or "",
            ips=as_tags(d.get("ips")),
            raw=d,
        )
