"""Typed Smartsupp legacy REST API payloads, parsed leniently.

Contract: shared/vendor-docs/smartsupp-rest-api.txt (the REST API Guide) and
vendor-apis.md §5.2 (what the PHP wrapper builds) and §5.5 (the legacy
finished-chat "POST hook"). The guide shows one example of each object; ids are
numbers sent as text ("1234"), so ids here are always text. Missing fields are
None/empty, and whatever is not named stays in `raw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cobrowse_portal.vendorkit.lenient import as_bool, as_int

#: The two documented user roles.
ROLES = ("agent", "admin")
#: Minutes in a day: office-hour times are minutes from midnight, 0..1440.
DAY_MINUTES = 1440
#: Days of the week as Smartsupp counts them (the docs' `days: [1,2,6,0]`:
#: 0 is Sunday, as in JavaScript's getDay()).
DAYS = range(7)
#: `messages[].type` of a finished chat (§5.5).
MESSAGE_TYPES = ("visitor", "agent", "system")


def as_str(value: Any) -> str:
    """Text, also from a number (the docs send ids as "1234")."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value)


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def ms_epoch(value: Any) -> datetime | None:
    """A millisecond epoch (`beginAt`, `endAt`, `sentAt`) as an aware UTC time."""
    ms = as_int(value)
    if ms is None or ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def records(body: Any) -> list[dict]:
    """The items of a list answer.

    Unknown (vendor-apis.md §5.2): the wrapper's README shows only
    `values.records[]`; nothing says whether a list can also come bare. Both
    are accepted; anything else is an empty list (never an exception)."""
    if isinstance(body, dict):
        body = body.get("records")
    return [item for item in as_list(body) if isinstance(item, dict)]


@dataclass
class Account:
    """A Smartsupp account (POST accounts/create's answer): `id` for the API,
    `accountKey` for the chat code (not a secret: it is in every page that
    shows the chat box)."""

    id: str
    title: str = ""
    lang: str = ""
    account_key: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Account:
        return cls(
            id=as_str(d.get("id")),
            title=as_str(d.get("title")),
            lang=as_str(d.get("lang")),
            account_key=as_str(d.get("accountKey")),
            raw=d,
        )


@dataclass
class User:
    """A user of an account: an `agent` chats, an `admin` can do everything.

    `active` is not in the guide's example (Unknown, vendor-apis.md §5.8): None
    when not sent. `nickname` and `lang` come from the wrapper's README."""

    id: str
    role: str = ""
    email: str = ""
    fullname: str = ""
    nickname: str = ""
    lang: str = ""
    active: bool | None = None
    avatar: str = ""
    note: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> User:
        role = as_str(d.get("role")).lower()
        return cls(
            id=as_str(d.get("id")),
            # An unknown role reads as "" rather than passing as a permission.
            role=role if role in ROLES else "",
            email=as_str(d.get("email")),
            fullname=as_str(d.get("fullname")),
            nickname=as_str(d.get("nickname")),
            lang=as_str(d.get("lang")),
            active=as_bool(d.get("active")),
            avatar=as_str(d.get("avatar")),
            note=as_str(d.get("note")),
            raw=d,
        )


@dataclass
class Condition:
    """One trigger rule, `{name, value}` (e.g. delay_site 60).

    Unknown (vendor-apis.md §5.2): no list of condition names or value types
    exists; the value is kept as sent (number, boolean or text)."""

    name: str
    value: Any = None

    @classmethod
    def parse(cls, d: dict) -> Condition:
        return cls(name=as_str(d.get("name")), value=d.get("value"))

    def as_json(self) -> dict:
        return {"name": self.name, "value": self.value}


@dataclass
class Action:
    """What a trigger does: the guide's only action is `message`, sent as
    `agent_nick`. Unknown: other action names (kept in `name`)."""

    name: str = "message"
    agent_nick: str = ""
    message: str = ""

    @classmethod
    def parse(cls, d: dict) -> Action:
        return cls(
            name=as_str(d.get("name")),
            agent_nick=as_str(d.get("agent_nick")),
            message=as_str(d.get("message")),
        )

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "agent_nick": self.agent_nick,
            "message": self.message,
        }


@dataclass
class Trigger:
    """An auto-message. The create answer adds `only_once` (true) and
    `constraints` ("all": every condition must hold; "any" is our guess at the
    other value, Unknown in the docs) to what was sent."""

    id: str
    active: bool | None = None
    name: str = ""
    description: str = ""
    event: str = ""
    only_once: bool | None = None
    constraints: str = ""
    conditions: list[Condition] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Trigger:
        return cls(
            id=as_str(d.get("id")),
            active=as_bool(d.get("active")),
            name=as_str(d.get("name")),
            description=as_str(d.get("description")),
            event=as_str(d.get("event")),
            only_once=as_bool(d.get("only_once")),
            constraints=as_str(d.get("constraints")),
            conditions=[
                Condition.parse(c)
                for c in as_list(d.get("conditions"))
                if isinstance(c, dict)
            ],
            actions=[
                Action.parse(a)
                for a in as_list(d.get("actions"))
                if isinstance(a, dict)
            ],
            raw=d,
        )


@dataclass
class TimeRange:
    """Open from `start` to `end`, minutes from midnight (480 is 08:00)."""

    start: int
    end: int

    def as_json(self) -> dict:
        return {"from": self.start, "to": self.end}


@dataclass
class DayHours:
    """The opening times of one day of the week (`dow`, 0 is Sunday)."""

    dow: int
    times: list[TimeRange] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"dow": self.dow, "times": [t.as_json() for t in self.times]}


@dataclass
class OfficeHours:
    """The account's office hours (POST officehours/update's answer).

    `timezone` is an int in the docs' only example (`1`): we take it as the
    offset from UTC in whole hours (Unknown, vendor-apis.md §5.8: it could be
    an index into a list of zones; a non-integer value reads as None)."""

    active: bool | None = None
    days: list[int] = field(default_factory=list)
    timezone: int | None = None
    config: list[DayHours] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> OfficeHours:
        days = [x for x in (as_int(v) for v in as_list(d.get("days"))) if x in DAYS]
        config = []
        for item in as_list(d.get("config")):
            if not isinstance(item, dict) or as_int(item.get("dow")) not in DAYS:
                continue
            times = []
            for t in as_list(item.get("times")):
                t = as_dict(t)
                start, end = as_int(t.get("from")), as_int(t.get("to"))
                if start is not None and end is not None:
                    times.append(TimeRange(start, end))
            config.append(DayHours(dow=as_int(item.get("dow")), times=times))
        return cls(
            active=as_bool(d.get("active")),
            days=days,
            timezone=as_int(d.get("timezone")),
            config=config,
            raw=d,
        )

    def as_json(self) -> dict:
        return {
            "active": bool(self.active),
            "days": list(self.days),
            "timezone": self.timezone,
            "config": [c.as_json() for c in self.config],
        }


# --- the legacy finished-chat POST hook (vendor-apis.md §5.5) --------------------
@dataclass
class ChatChannel:
    """`channel{…}` of a finished chat: flags, and times in seconds."""

    id: str = ""
    is_chat: bool | None = None
    is_missed: bool | None = None
    is_triggered: bool | None = None
    is_offline: bool | None = None
    is_completed: bool | None = None
    is_dropped: bool | None = None
    duration: int | None = None
    avg_response: int | None = None
    first_response: int | None = None
    messages_count: int | None = None
    words_count: int | None = None
    rating: int | None = None
    rating_desc: str = ""

    @classmethod
    def parse(cls, d: dict) -> ChatChannel:
        return cls(
            id=as_str(d.get("id")),
            is_chat=as_bool(d.get("isChat")),
            is_missed=as_bool(d.get("isMissed")),
            is_triggered=as_bool(d.get("isTriggered")),
            is_offline=as_bool(d.get("isOffline")),
            is_completed=as_bool(d.get("isCompleted")),
            is_dropped=as_bool(d.get("isDropped")),
            duration=as_int(d.get("duration")),
            avg_response=as_int(d.get("avgResponse")),
            first_response=as_int(d.get("firstResponse")),
            messages_count=as_int(d.get("messagesCount")),
            words_count=as_int(d.get("wordsCount")),
            rating=as_int(d.get("rating")),
            rating_desc=as_str(d.get("ratingDesc")),
        )


@dataclass
class ChatVisitor:
    """`visitor{…}` of a finished chat. The docs' example swaps `city` and
    `country` (vendor-apis.md §5.5): the fields are read by name, and nothing
    here trusts the example's values."""

    id: str = ""
    name: str = ""
    email: str = ""
    note: str = ""
    group_key: str = ""
    ip_address: str = ""
    city: str = ""
    country_code: str = ""
    country: str = ""
    user_agent: str = ""
    platform: str = ""
    referer: str = ""
    #: {key: {"label", "value"}} as sent (values are the site's own).
    variables: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> ChatVisitor:
        variables = {
            str(k): {
                "label": as_str(as_dict(v).get("label")),
                "value": as_dict(v).get("value"),
            }
            for k, v in as_dict(d.get("variables")).items()
        }
        return cls(
            id=as_str(d.get("id")),
            name=as_str(d.get("name")),
            email=as_str(d.get("email")),
            note=as_str(d.get("note")),
            group_key=as_str(d.get("groupKey")),
            ip_address=as_str(d.get("ipAddress")),
            city=as_str(d.get("city")),
            country_code=as_str(d.get("countryCode")),
            country=as_str(d.get("country")),
            user_agent=as_str(d.get("userAgent")),
            platform=as_str(d.get("platform")),
            referer=as_str(d.get("referer")),
            variables=variables,
        )


@dataclass
class ChatPath:
    """A page the visitor saw (`paths[]{url, title}`)."""

    url: str = ""
    title: str = ""


@dataclass
class ChatMessage:
    """`messages[]`: `type` visitor|agent|system (system content is a code
    such as `agent.join`, `close.visitorClose`); `sent_at` from ms epoch."""

    type: str = ""
    name: str = ""
    sender: str = ""  # the hook's `from`
    content: str = ""
    sent_at: datetime | None = None
    triggered_by: str = ""
    email: str = ""

    @classmethod
    def parse(cls, d: dict) -> ChatMessage:
        kind = as_str(d.get("type")).lower()
        return cls(
            # Unknown types read as "" rather than being guessed.
            type=kind if kind in MESSAGE_TYPES else "",
            name=as_str(d.get("name")),
            sender=as_str(d.get("from")),
            content=as_str(d.get("content")),
            sent_at=ms_epoch(d.get("sentAt")),
            triggered_by=as_str(d.get("triggeredBy")),
            email=as_str(d.get("email")),
        )


@dataclass
class FinishedChat:
    """A finished, missed or offline chat as the legacy POST hook sends it."""

    account_id: str = ""
    begin_at: datetime | None = None
    end_at: datetime | None = None
    channel: ChatChannel = field(default_factory=ChatChannel)
    visitor: ChatVisitor = field(default_factory=ChatVisitor)
    paths: list[ChatPath] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> FinishedChat:
        d = as_dict(d)
        return cls(
            account_id=as_str(d.get("accountId")),
            begin_at=ms_epoch(d.get("beginAt")),
            end_at=ms_epoch(d.get("endAt")),
            channel=ChatChannel.parse(as_dict(d.get("channel"))),
            visitor=ChatVisitor.parse(as_dict(d.get("visitor"))),
            paths=[
                ChatPath(url=as_str(p.get("url")), title=as_str(p.get("title")))
                for p in as_list(d.get("paths"))
                if isinstance(p, dict)
            ],
            messages=[
                ChatMessage.parse(m)
                for m in as_list(d.get("messages"))
                if isinstance(m, dict)
            ],
            raw=d,
        )

    @property
    def external_id(self) -> str:
        """The chat's identity for storing it once: the channel id, else the
        account, visitor and start (the hook documents no chat id of its own)."""
        if self.channel.id:
            return self.channel.id
        start = int(self.begin_at.timestamp() * 1000) if self.begin_at else 0
        return f"{self.account_id}:{self.visitor.id}:{start}"
