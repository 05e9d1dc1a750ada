"""Typed SameSurf API v3 payloads, parsed leniently.

The docs (shared/vendor-docs/samesurf-api-v3.txt) give one example answer per
operation and little more, so every parser here accepts what the examples show
and tolerates what they do not say: numbers that arrive as strings (the
example `total_rooms` is "123"), room numbers as numbers, missing fields, and
v2's `name` where v3 says `room`. Every link goes through `safe_url`: only
absolute http(s) URLs survive. Anything undocumented stays in `raw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cobrowse_portal.vendorkit.lenient import as_bool, as_dt, as_int
from cobrowse_portal.vendorkit.safeurl import safe_url

#: `disabledfeatures` values the docs list (create room and create subscription).
FEATURES = (
    "MODE_DOCUMENT_SHARE",
    "MODE_VIDEO_SHARE",
    "MODE_SCREEN_SHARE",
    "MODE_LOGOUT",
    "TOOLS_SCREEN_RECORDING",
    "TOOLS_VIDEO_CHAT",
    "TOOLS_AUDIO_CHAT",
    "TOOLS_12MANY_VIDEO",
    "TOOLS_MOUSE_TRACKING",
    "TOOLS_DISCONNECT_USER",
)

#: `configuration_overrides` keys the docs list for a reseller's subscriptions.
OVERRIDE_KEYS = (
    "communications_active",
    "default_logout_url",
    "demotimer_active",
    "demotimer_logout_url",
    "disable_urlbar_all",
    "disable_urlbar_follower",
    "hide_bookmark_add",
    "hide_bookmark_header",
    "hide_bookmarks",
    "hide_modes_menu",
    "inroomchat_active",
    "invitations_active",
    "passcontrol_active",
    "preload_host_invitations",
    "social_changename_active",
    "suppress_beforeunload",
    "welcome_active",
)


def as_str(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def room_of(d: dict) -> str:
    # v3 names the room `room`; v2 answers named it `name` (vendor-apis.md §2.4).
    return as_str(d.get("room") if d.get("room") not in (None, "") else d.get("name"))


@dataclass
class RunningRoom:
    """One item of `runningrooms`."""

    room: str
    title: str = ""
    started_at: datetime | None = None
    public_invitation: str = ""
    private_invitation: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> RunningRoom:
        return cls(
            room=room_of(d),
            title=as_str(d.get("title")),
            started_at=as_dt(d.get("starttime")),
            public_invitation=safe_url(d.get("publicinvitation")),
            private_invitation=safe_url(d.get("privateinvitation")),
            raw=d,
        )


@dataclass
class CreatedRoom:
    """The answer of `create` (immediate or scheduled) and of `find`.

    The docs' examples disagree on which invitation carries which token (the
    `create` example puts `leadertoken` in `privateinvitation`, `runningrooms`
    puts it in `publicinvitation`). The leader link is therefore the
    invitation whose path ends in the leader token, whichever field it is in;
    without tokens to compare, `privateinvitation` is taken as the leader's.
    """

    room: str
    token: str = ""
    leader_token: str = ""
    public_invitation: str = ""
    private_invitation: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> CreatedRoom:
        return cls(
            room=room_of(d),
            token=as_str(d.get("token")),
            leader_token=as_str(d.get("leadertoken")),
            public_invitation=safe_url(d.get("publicinvitation")),
            private_invitation=safe_url(d.get("privateinvitation")),
            raw=d,
        )

    def _link_with(self, token: str) -> str:
        for link in (self.private_invitation, self.public_invitation):
            if token and link and link.rstrip("/").endswith("/" + token):
                return link
        return ""

    @property
    def leader_link(self) -> str:
        return self._link_with(self.leader_token) or self.private_invitation

    @property
    def invitee_link(self) -> str:
        found = self._link_with(self.token)
        if found and found != self.leader_link:
            return found
        other = [
            link
            for link in (self.public_invitation, self.private_invitation)
            if link and link != self.leader_link
        ]
        return other[0] if other else ""


@dataclass
class LimitedUseToken:
    """The answer of `createlimitedusetoken`."""

    token: str
    link: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> LimitedUseToken:
        return cls(token=as_str(d.get("token")), link=safe_url(d.get("link")), raw=d)


@dataclass
class AnalyticsOverview:
    """`analyticsoverview`: room counts and average durations (minutes)."""

    rooms_total: int | None = None
    rooms_today: int | None = None
    rooms_this_week: int | None = None
    rooms_this_month: int | None = None
    average_minutes_all_time: int | None = None
    average_minutes_today: int | None = None
    average_minutes_this_week: int | None = None
    average_minutes_this_month: int | None = None
    url_latest: str = ""
    url_most_popular: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> AnalyticsOverview:
        return cls(
            rooms_total=as_int(d.get("rooms_total")),
            rooms_today=as_int(d.get("rooms_today")),
            rooms_this_week=as_int(d.get("rooms_thisweek")),
            rooms_this_month=as_int(d.get("rooms_thismonth")),
            average_minutes_all_time=as_int(d.get("averageduration_alltime")),
            average_minutes_today=as_int(d.get("averageduration_today")),
            average_minutes_this_week=as_int(d.get("averageduration_thisweek")),
            average_minutes_this_month=as_int(d.get("averageduration_thismonth")),
            # The example's `url_most_popular` is a bare host ("google.com"), not
            # a URL: kept as text, never turned into a link.
            url_latest=safe_url(d.get("url_latest")),
            url_most_popular=as_str(d.get("url_most_popular")),
            raw=d,
        )


@dataclass
class AnalyticsRoom:
    """One item of `analyticsrooms`: a room that took place.

    `duration` is not given a unit by the docs; the examples (1234, 2687)
    read as seconds, while `analyticsoverview` averages read as minutes.
    `version` tells apart uses of the same room number (`roomanalytics`
    takes it); a missing one is version 0, the documented default.
    """

    room: str
    version: int = 0
    title: str = ""
    date: datetime | None = None
    duration: int | None = None
    recordings: int = 0
    experience: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> AnalyticsRoom:
        return cls(
            room=room_of(d),
            version=as_int(d.get("version")) or 0,
            title=as_str(d.get("title")),
            date=as_dt(d.get("date")),
            duration=as_int(d.get("duration")),
            recordings=as_int(d.get("screenrecordings")) or 0,
            experience=as_str(d.get("experience")),
            raw=d,
        )

    @property
    def key(self) -> str:
        """Unique per account: the room number and its version."""
        return f"{self.room}:{self.version}"


@dataclass
class RoomEvent:
    type: str
    date: datetime | None = None
    sender: str = ""
    target: str = ""
    data: str = ""

    @classmethod
    def parse(cls, d: dict) -> RoomEvent:
        return cls(
            type=as_str(d.get("type")),
            date=as_dt(d.get("date")),
            sender=as_str(d.get("sender")),
            target=as_str(d.get("target")),
            data=as_str(d.get("data")),
        )


@dataclass
class RoomUser:
    guid: str
    name: str = ""
    host: bool = False
    joined_at: datetime | None = None
    left_at: datetime | None = None
    ip_address: str = ""
    city: str = ""
    country: str = ""

    @classmethod
    def parse(cls, d: dict) -> RoomUser:
        return cls(
            guid=as_str(d.get("guid")),
            name=as_str(d.get("name")),
            host=bool(as_bool(d.get("host"))),
            joined_at=as_dt(d.get("joinedat")),
            left_at=as_dt(d.get("leftat")),
            ip_address=as_str(d.get("ipaddress")),
            city=as_str(d.get("city")),
            country=as_str(d.get("country")),
        )


@dataclass
class RoomAnalytics:
    """`roomanalytics`: one room's events and users (the example's `title` is null)."""

    title: str = ""
    events: list[RoomEvent] = field(default_factory=list)
    users: list[RoomUser] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> RoomAnalytics:
        events, users = d.get("events"), d.get("users")
        return cls(
            title=as_str(d.get("title")),
            events=[
                RoomEvent.parse(e)
                for e in (events if isinstance(events, list) else [])
                if isinstance(e, dict)
            ],
            users=[
                RoomUser.parse(u)
                for u in (users if isinstance(users, list) else [])
                if isinstance(u, dict)
            ],
            raw=d,
        )


@dataclass
class ApiKey:
    """`reseller/createapikey`: a new key and secret of a subscription. The
    secret is shown once and stored encrypted; never keep it in `raw`."""

    api_key: str
    api_secret: str = field(default="", repr=False)

    @classmethod
    def parse(cls, d: dict) -> ApiKey:
        return cls(
            api_key=as_str(d.get("apikey")), api_secret=as_str(d.get("apisecret"))
        )
