"""Typed Upscope REST API v1.3 payloads, parsed leniently.

Contract: shared/vendor-docs/upscope-api-v1.3.txt and vendor-apis.md §3.5. The
v1.3 docs describe the Visitor only partly (their table is truncated after
`last_url`) and the Session and Agent objects not at all, so the shapes below
merge the v1.3 table with the v1.1 examples (vendor-apis.md §3.5) and read
everything leniently: ids may be numbers or strings, times ISO 8601 with or
without a zone, v1.1's names (`first_seen_at`) where v1.3 is silent, and missing
fields are None/empty. Whatever is not named here stays in `raw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cobrowse_portal.vendorkit.lenient import as_bool, as_dt, as_int
from cobrowse_portal.vendorkit.safeurl import safe_url

#: `permissions.*` of a watch URL (vendor-docs), with Upscope's defaults.
PERMISSIONS: dict[str, bool] = {
    "allow_agent_redirect": True,
    "allow_audio": True,
    "allow_click": True,
    "allow_console": False,
    "allow_draw": True,
    "allow_scroll": True,
    "allow_type": True,
    "allow_confetti": True,
    "allow_notes": True,
    "allow_show_agent_screen": True,
    "allow_request_visitor_screen": True,
    "hide_private_details": False,
}
#: `branding.naked` values.
NAKED = (False, True, "page_only")
#: `device_type` values the v1.3 table lists.
DEVICE_TYPES = (
    "desktop",
    "console",
    "mobile",
    "tablet",
    "smarttv",
    "wearable",
    "embedded",
)


def as_str(value: Any) -> str:
    """Text, also from a number (ids are strings in v1.3, numbers in v1.1)."""
    if type(value) is str:  # the common case, first (called for every field)
        return value
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    return str(value)


def as_strs(value: Any) -> list[str]:
    """A list of strings; null (v1.1's unidentified visitor) is []."""
    if not isinstance(value, list):
        return []
    return [as_str(v) for v in value if as_str(v)]


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


@dataclass
class Usage:
    """GET usage: every figure an int, None when not sent."""

    agents_last_30_days: int | None = None
    agents_today: int | None = None
    sessions_last_30_days: int | None = None
    sessions_now: int | None = None
    sessions_today: int | None = None
    session_seconds_last_30_days: int | None = None
    session_seconds_today: int | None = None
    visitors_last_24_hrs: int | None = None
    visitors_online_now: int | None = None
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, body: dict) -> Usage:
        usage = _dict(body.get("usage"))
        agents = _dict(usage.get("agents"))
        counts = _dict(usage.get("session_counts"))
        seconds = _dict(usage.get("session_seconds"))
        visitors = _dict(usage.get("visitors"))
        return cls(
            agents_last_30_days=as_int(agents.get("last_30_days")),
            agents_today=as_int(agents.get("today")),
            sessions_last_30_days=as_int(counts.get("last_30_days")),
            sessions_now=as_int(counts.get("now")),
            sessions_today=as_int(counts.get("today")),
            session_seconds_last_30_days=as_int(seconds.get("last_30_days")),
            session_seconds_today=as_int(seconds.get("today")),
            visitors_last_24_hrs=as_int(visitors.get("last_24_hrs")),
            visitors_online_now=as_int(visitors.get("online_now")),
            raw=usage,
        )


@dataclass
class SessionAgent:
    """An agent inside a Session (v1.1 example: id, name, agent_identifier, _type)."""

    id: str
    name: str = ""
    external_id: str = ""
    kind: str = ""

    @classmethod
    def parse(cls, d: dict) -> SessionAgent:
        return cls(
            id=as_str(d.get("id")),
            name=as_str(d.get("name")),
            external_id=as_str(d.get("agent_identifier")),
            kind=as_str(d.get("_type")),
        )


@dataclass
class Session:
    """A co-browsing Session (`cobrowsing_sessions/list`, `visitor.sessions`,
    `agent.sessions`, and the watch URL's `webhook_url` post).

    The v1.3 object is undocumented: fields follow the v1.1 example, plus
    `metadata` (the docs say the watch URL's metadata is added to the session
    object). `ongoing` is `ended_at is None` unless an `is_ongoing` flag is
    sent; `updated_at` is read when present (the `updated_after` filter implies
    one exists, the docs do not name it)."""

    id: str
    visitor_id: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    updated_at: datetime | None = None
    length_seconds: int | None = None
    call_length_seconds: int | None = None
    went_live: bool | None = None
    features_used: list[str] = field(default_factory=list)
    agents: list[SessionAgent] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    team_id: str = ""
    ongoing: bool = False
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Session:
        ended = as_dt(d.get("ended_at"))
        ongoing = as_bool(d.get("is_ongoing"))
        return cls(
            id=as_str(d.get("id")),
            visitor_id=as_str(d.get("visitor_id")),
            started_at=as_dt(d.get("started_at")),
            ended_at=ended,
            updated_at=as_dt(d.get("updated_at")),
            length_seconds=as_int(d.get("length_seconds")),
            call_length_seconds=as_int(d.get("call_length_seconds")),
            went_live=as_bool(d.get("went_live")),
            features_used=as_strs(d.get("features_used")),
            agents=[
                SessionAgent.parse(a)
                for a in d.get("agents") or []
                if isinstance(a, dict)
            ],
            metadata=_dict(d.get("metadata")),
            team_id=as_str(_dict(d.get("team")).get("id")),
            ongoing=ended is None if ongoing is None else ongoing,
            raw=d,
        )


def _sessions(value: Any) -> list[Session]:
    if not isinstance(value, list):
        return []
    return [Session.parse(s) for s in value if isinstance(s, dict)]


@dataclass
class Visitor:
    """A Visitor (`list`, `visitors/{id}`): the v1.3 table merged with v1.1.

    `added_at` falls back to v1.1's `first_seen_at`; `identities` null is [];
    `last_url` only if it is an http(s) URL."""

    short_id: str
    email: str = ""
    unique_id: str = ""
    call_name: str = ""
    identities: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lookup_code: str = ""
    ip_address: str = ""
    integration: str = ""
    browser_name: str = ""
    device_name: str = ""
    device_type: str = ""
    location_city: str = ""
    location_country: str = ""
    location_country_name: str = ""
    last_url: str = ""
    added_at: datetime | None = None
    last_seen_at: datetime | None = None
    is_online: bool = False
    is_in_session: bool = False
    is_waiting_for_call: bool = False
    sessions: list[Session] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Visitor:
        return cls(
            short_id=as_str(d.get("short_id")),
            email=as_str(d.get("email")),
            unique_id=as_str(d.get("unique_id")),
            call_name=as_str(d.get("call_name")),
            identities=as_strs(d.get("identities")),
            tags=as_strs(d.get("tags")),
            lookup_code=as_str(d.get("lookup_code")),
            ip_address=as_str(d.get("ip_address")),
            integration=as_str(d.get("integration")),
            browser_name=as_str(d.get("browser_name")),
            device_name=as_str(d.get("device_name")),
            device_type=as_str(d.get("device_type")),
            location_city=as_str(d.get("location_city")),
            location_country=as_str(d.get("location_country")),
            location_country_name=as_str(d.get("location_country_name")),
            last_url=safe_url(d.get("last_url")),
            added_at=as_dt(d.get("added_at") or d.get("first_seen_at")),
            last_seen_at=as_dt(d.get("last_seen_at")),
            is_online=bool(as_bool(d.get("is_online"))),
            is_in_session=bool(as_bool(d.get("is_in_session"))),
            is_waiting_for_call=bool(as_bool(d.get("is_waiting_for_call"))),
            sessions=_sessions(d.get("sessions")),
            raw=d,
        )


@dataclass
class Agent:
    """`agents/lookup`'s agent (undocumented beyond `id` and `sessions`): a
    user found by e-mail or an external agent found by `agent_identifier`."""

    id: str
    name: str = ""
    email: str = ""
    external_id: str = ""
    kind: str = ""
    sessions: list[Session] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Agent:
        return cls(
            id=as_str(d.get("id")),
            name=as_str(d.get("name")),
            email=as_str(d.get("email")),
            external_id=as_str(d.get("agent_identifier") or d.get("external_id")),
            kind=as_str(d.get("_type")),
            sessions=_sessions(d.get("sessions")),
            raw=d,
        )


@dataclass
class WatchUrl:
    """A secure watch link: short-lived, never to be stored (the docs say so)."""

    watch_url: str
    expires_at: datetime | None = None

    @classmethod
    def parse(cls, body: dict) -> WatchUrl:
        return cls(
            watch_url=safe_url(body.get("watch_url")),
            expires_at=as_dt(body.get("expiration")),
        )


@dataclass
class SessionStop:
    """The answer to DELETE visitors/{id}/session. Upscope answers `ok` whether
    or not a session was running (vendor-apis.md §3.9 #3), so `confirmed` is
    always False: a page must say "stop requested", never "stopped"."""

    visitor_id: str
    confirmed: bool = False

    @property
    def message(self) -> str:
        return (
            "Upscope accepted the stop request; it does not say whether a "
            "session was running."
        )


@dataclass
class OnPremiseToken:
    """POST onpremise/token: `authorized` and the token for the on-premise server."""

    authorized: bool
    token: str = ""

    @classmethod
    def parse(cls, body: dict) -> OnPremiseToken:
        return cls(
            authorized=bool(as_bool(body.get("authorized"))),
            token=as_str(body.get("token")),
        )
