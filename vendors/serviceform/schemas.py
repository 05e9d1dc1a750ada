"""Typed Serviceform Public API 1.0.1 payloads, parsed leniently.

Contract: shared/vendor-docs/serviceform-public-api.txt and vendor-apis.md §4.4.
The docs show the Space and the Item (without custom values) and one example
each of a lead and a chat; everything else is unknown (vendor-apis.md §4.6), so
every reader here accepts ids as numbers or text, times as ISO 8601 or Unix
seconds/milliseconds (the chat example uses seconds, the item example ISO), and
keeps whatever it does not name in `raw`. One odd field never loses an object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from cobrowse_portal.vendorkit.lenient import as_bool, as_dt, as_int
from cobrowse_portal.vendorkit.safeurl import safe_url

#: Field types of a space. Unknown (vendor-apis.md §4.6): the docs say only
#: `type: string`; this set is the portal's reading (the sandbox uses exactly
#: these). A type outside it is kept as text and edited as plain text.
FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "date",
    "datetime",
    "select",
    "multiselect",
    "checkbox",
    "email",
    "phone",
    "url",
)
#: Types whose values come from the field's `options[].value`.
CHOICE_TYPES = ("select", "multiselect")
#: Spellings of the choice types seen in form builders, read as ours.
TYPE_ALIASES = {
    "choice": "select",
    "dropdown": "select",
    "radio": "select",
    "multichoice": "multiselect",
    "multi_select": "multiselect",
    "multi-select": "multiselect",
    "checkboxes": "multiselect",
    "boolean": "checkbox",
    "bool": "checkbox",
    "integer": "number",
    "float": "number",
    "string": "text",
    "longtext": "textarea",
    "tel": "phone",
}
#: Keys of the documented Item; any other top-level key is a field value.
ITEM_KEYS = frozenset(
    {
        "id",
        "uid",
        "uuid",
        "clientId",
        "space_id",
        "primary_field",
        "created",
        "updated",
        "last_updater",
        "values",
        "fields",
    }
)
#: Chat message sender types the portal shows.
SENDERS = ("visitor", "agent", "bot", "system")
#: Statistics metrics the portal asks for (Unknown, vendor-apis.md §4.6: the
#: docs name none; the sandbox answers exactly these and refuses others).
METRICS = (
    "chats",
    "chatbot_chats",
    "human_chats",
    "messages",
    "avg_duration",
    "avg_first_response",
    "rating",
)


def as_str(value: Any) -> str:
    """Text, also from a number (ids may be either)."""
    if type(value) is str:  # the common case, first
        return value
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value)


def as_time(value: Any) -> datetime | None:
    """ISO 8601, or Unix time in seconds (the chat example: 1672531200) or
    milliseconds (a value too large to be seconds); anything else is None."""
    if type(value) in _PLAIN:
        # A chat repeats its times (`changed` is its last message's time, which
        # is a message's `timestamp` too): each is read once (a datetime is
        # immutable, so a cached one can be handed out again).
        return _read_time_cached(value)
    return _read_time(value)


def _read_time(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("-").isdigit()
    ):
        number = float(value)
        if number <= 0:
            return None
        if number > 1e11:  # milliseconds: seconds would be after year 5000
            number /= 1000
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return as_dt(value)


#: Types whose values are read through the cache (typed: 1 and 1.0 apart).
_PLAIN = frozenset({int, float, str})
_read_time_cached = lru_cache(maxsize=4096, typed=True)(_read_time)


@lru_cache(maxsize=1024)
def _safe_url_cached(value: str) -> str:
    return safe_url(value)


def safe_link(value: Any) -> str:
    """`vendorkit.safeurl.safe_url`, remembered for the last thousand texts (a
    chat listing repeats a few page URLs on every chat)."""
    return _safe_url_cached(value) if type(value) is str else safe_url(value)


def as_float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def field_type(value: Any) -> str:
    """The field's type in FIELD_TYPES, "text" when it is unknown."""
    text = as_str(value).strip().lower()
    text = TYPE_ALIASES.get(text, text)
    return text if text in FIELD_TYPES else "text"


@dataclass
class FieldOption:
    """One option of a choice field: `machine`, `label`, `value` (documented)."""

    value: str
    label: str = ""
    machine: str = ""

    @classmethod
    def parse(cls, d: dict) -> FieldOption:
        value = as_str(d.get("value")) or as_str(d.get("machine"))
        return cls(
            value=value,
            label=as_str(d.get("label")) or value,
            machine=as_str(d.get("machine")),
        )


@dataclass
class SpaceField:
    """A field definition of a space (documented: machine, name, id, type,
    options). `type` is normalised (FIELD_TYPES); `raw_type` is what was sent.
    `required` is Unknown (vendor-apis.md §4.4 shows no such key): read from
    `required`/`isRequired`/`mandatory` when present, else False."""

    machine: str
    name: str = ""
    id: str = ""
    type: str = "text"
    raw_type: str = ""
    options: list[FieldOption] = field(default_factory=list)
    required: bool = False

    @property
    def label(self) -> str:
        return self.name or self.machine

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    @property
    def option_values(self) -> list[str]:
        return [o.value for o in self.options]

    @classmethod
    def parse(cls, d: dict) -> SpaceField:
        required = next(
            (
                as_bool(d.get(k))
                for k in ("required", "isRequired", "mandatory")
                if d.get(k) is not None
            ),
            None,
        )
        return cls(
            machine=as_str(d.get("machine")) or as_str(d.get("id")),
            name=as_str(d.get("name")) or as_str(d.get("label")),
            id=as_str(d.get("id")),
            type=field_type(d.get("type")),
            raw_type=as_str(d.get("type")),
            options=[FieldOption.parse(o) for o in _list(d.get("options")) if _dict(o)],
            required=bool(required),
        )


@dataclass
class Space:
    """A flex space (GET /flex/spaces): id, name and its field definitions."""

    id: str
    name: str = ""
    fields: list[SpaceField] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    def field(self, machine: str) -> SpaceField | None:
        return next((f for f in self.fields if f.machine == machine), None)

    @classmethod
    def parse(cls, d: dict) -> Space:
        return cls(
            id=as_str(d.get("id")),
            name=as_str(d.get("name")),
            fields=[
                SpaceField.parse(f)
                for f in _list(d.get("fields"))
                if isinstance(f, dict) and (f.get("machine") or f.get("id"))
            ],
            raw=d,
        )


@dataclass
class Item:
    """An item of a space (documented keys: id, uid, uuid, clientId, space_id,
    primary_field, created, updated, last_updater).

    Unknown (vendor-apis.md §4.4): how custom field values appear. They are read
    from `values` and `fields` objects and from any top-level key that is not a
    documented one (later sources win: top level, then `fields`, then
    `values`), keyed by the field's machine name, as sent (no conversion)."""

    id: str
    uid: str = ""
    uuid: str = ""
    client_id: str = ""
    space_id: str = ""
    primary_field: str = ""
    created: datetime | None = None
    updated: datetime | None = None
    last_updater: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Item:
        values = {k: v for k, v in d.items() if k not in ITEM_KEYS}
        values.update(_dict(d.get("fields")))
        values.update(_dict(d.get("values")))
        return cls(
            id=as_str(d.get("id")),
            uid=as_str(d.get("uid")),
            uuid=as_str(d.get("uuid")),
            client_id=as_str(d.get("clientId")),
            space_id=as_str(d.get("space_id")),
            primary_field=as_str(d.get("primary_field")),
            created=as_time(d.get("created")),
            updated=as_time(d.get("updated")),
            last_updater=as_str(d.get("last_updater")),
            values=values,
            raw=d,
        )


@dataclass
class Lead:
    """A lead (GET /leads). Unknown shape beyond the docs' one example: the
    name is `name` or first + last name; `message` is `message` or the first
    history message; `form` is `tool_name` (or `form`/`tid`); `source` as sent.
    Every field is optional; `raw` keeps the whole object."""

    id: str
    created: datetime | None = None
    updated: datetime | None = None
    name: str = ""
    email: str = ""
    phone: str = ""
    message: str = ""
    form: str = ""
    source: str = ""
    page_url: str = ""
    space_id: str = ""
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Lead:
        name = as_str(d.get("name")).strip() or " ".join(
            x for x in (as_str(d.get("first_name")), as_str(d.get("last_name"))) if x
        )
        message = as_str(d.get("message"))
        if not message:
            first = next((h for h in _list(d.get("history")) if _dict(h)), {})
            message = as_str(first.get("message"))
        return cls(
            id=as_str(d.get("id")),
            created=as_time(d.get("created") or d.get("timestamp")),
            updated=as_time(d.get("updated")),
            name=name,
            email=as_str(d.get("email")),
            phone=as_str(d.get("phone")),
            message=message,
            form=as_str(d.get("tool_name") or d.get("form") or d.get("tid")),
            source=as_str(d.get("source")),
            page_url=safe_url(d.get("page_url")),
            space_id=as_str(d.get("space_id")),
            raw=d,
        )


def sender_type(value: Any) -> str:
    """visitor | agent | bot | system; unknown spellings are read leniently
    (`user`/`customer` → visitor, `operator` → agent, `chatbot` → bot)."""
    if type(value) is str and value in SENDERS:  # as Serviceform spells them
        return value
    text = as_str(value).strip().lower()
    if text in SENDERS:
        return text
    if text in ("user", "customer", "client", "guest", "lead"):
        return "visitor"
    if text in ("operator", "admin", "human", "staff"):
        return "agent"
    if text in ("chatbot", "ai", "assistant", "automation"):
        return "bot"
    return "system"


@dataclass
class ChatMessage:
    """One message of a chat's `history` (documented: id, message, type,
    timestamp). Unknown: who sent it. Read from `sender`/`senderType`/`from`
    (`type` is the message type, "text" in the docs, unless it names a sender)."""

    id: str
    sender: str = "system"
    author: str = ""
    text: str = ""
    sent_at: datetime | None = None
    kind: str = ""
    #: The message object as sent (stored as the message's `raw`).
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> ChatMessage:
        kind = as_str(d.get("type"))
        said = d.get("sender") or d.get("senderType") or d.get("from")
        if not said and kind.lower() in (*SENDERS, "user", "operator", "chatbot"):
            said = kind
        return cls(
            id=as_str(d.get("id")),
            sender=sender_type(said),
            author=as_str(d.get("author") or d.get("senderName") or d.get("name")),
            text=as_str(d.get("message") if "message" in d else d.get("text")),
            sent_at=as_time(d.get("timestamp") or d.get("time")),
            kind=kind,
            raw=d,
        )


@dataclass
class Chat:
    """A chat (POST /chats), after the docs' one example. `id` is `cid` (or
    `id`); `started` is `created` or `livechatStarted`; `ended` is `ended` or
    `lastMessageTime`; `chatbot` is the `chatbot` flag, else true when no agent
    joined (`livechat` 0). Unknown: rating, message count (`messageCount`, else
    the history's length when messages were asked for) and first response."""

    id: str
    uid: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    changed: datetime | None = None
    visitor_name: str = ""
    visitor_email: str = ""
    visitor_phone: str = ""
    agent_id: str = ""
    agent_name: str = ""
    agent_email: str = ""
    agent_joined: datetime | None = None
    chatbot: bool = False
    rating: float | None = None
    message_count: int | None = None
    first_response_seconds: int | None = None
    source: str = ""
    site: str = ""
    url: str = ""
    last_message: str = ""
    messages: list[ChatMessage] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> Chat:
        history = [ChatMessage.parse(m) for m in _list(d.get("history")) if _dict(m)]
        name = as_str(d.get("name")).strip() or " ".join(
            x for x in (as_str(d.get("first_name")), as_str(d.get("last_name"))) if x
        )
        chatbot = as_bool(d.get("chatbot"))
        if chatbot is None:
            live = as_bool(d.get("livechat"))
            chatbot = (not live) if live is not None else not d.get("agentId")
        count = as_int(d.get("messageCount"))
        if count is None and "history" in d:
            count = len(history)
        full_url = safe_link(d.get("fullUrl"))
        return cls(
            id=as_str(d.get("cid") or d.get("id")),
            uid=as_str(d.get("uid")),
            started=as_time(d.get("created") or d.get("livechatStarted")),
            ended=as_time(d.get("ended") or d.get("lastMessageTime")),
            changed=as_time(d.get("changed")),
            visitor_name=name,
            visitor_email=as_str(d.get("email")),
            visitor_phone=as_str(d.get("phone")),
            agent_id=as_str(d.get("agentId")),
            agent_name=as_str(d.get("agentName")),
            agent_email=as_str(d.get("agentEmail")),
            agent_joined=as_time(d.get("agentJoinedTime")),
            chatbot=bool(chatbot),
            rating=as_float(d.get("rating")),
            message_count=count,
            first_response_seconds=as_int(d.get("firstResponseTime")),
            source=as_str(d.get("source")),
            site=as_str(d.get("sitename")),
            url=full_url or as_str(d.get("url")),
            last_message=as_str(d.get("lastMessage")),
            messages=history,
            raw=d,
        )


@dataclass
class AgentStatistics:
    """One row of `chatsByAgent` (documented)."""

    agent_id: str
    agent_name: str = ""
    total_chats: int | None = None
    average_response_time: float | None = None

    @classmethod
    def parse(cls, d: dict) -> AgentStatistics:
        return cls(
            agent_id=as_str(d.get("agentId")),
            agent_name=as_str(d.get("agentName")),
            total_chats=as_int(d.get("totalChats")),
            average_response_time=as_float(d.get("averageResponseTime")),
        )


@dataclass
class ChatStatistics:
    """GET /statistics/chat. Documented: totalChats, averageResponseTime
    (seconds), satisfactionScore (of 5), chatsByAgent, chatsBySource,
    chatDurations. Unknown (vendor-apis.md §4.6): the asked-for metrics' shape;
    read from `metrics` ({name: total}) and a per-day series from `days`
    ([{date, <metric>: value}]) or `series`, when present."""

    total_chats: int | None = None
    average_response_time: float | None = None
    satisfaction_score: float | None = None
    by_agent: list[AgentStatistics] = field(default_factory=list)
    by_source: dict[str, int] = field(default_factory=dict)
    durations: dict[str, int] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    #: {day: {metric: value}}, days in order.
    days: dict[date, dict[str, float]] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, d: dict) -> ChatStatistics:
        def counts(value: Any) -> dict[str, int]:
            return {
                as_str(k): n
                for k, v in _dict(value).items()
                if (n := as_int(v)) is not None
            }

        totals = {
            as_str(k): n
            for k, v in _dict(d.get("metrics")).items()
            if (n := as_float(v)) is not None
        }
        days: dict[date, dict[str, float]] = {}
        for row in _list(d.get("days")) or _list(d.get("series")):
            row = _dict(row)
            when = as_time(row.get("date"))
            if when is None:
                try:
                    when_day = date.fromisoformat(as_str(row.get("date"))[:10])
                except ValueError:
                    continue
            else:
                when_day = when.date()
            days[when_day] = {
                as_str(k): n
                for k, v in row.items()
                if k != "date" and (n := as_float(v)) is not None
            }
        return cls(
            total_chats=as_int(d.get("totalChats")),
            average_response_time=as_float(d.get("averageResponseTime")),
            satisfaction_score=as_float(d.get("satisfactionScore")),
            by_agent=[
                AgentStatistics.parse(a)
                for a in _list(d.get("chatsByAgent"))
                if isinstance(a, dict)
            ],
            by_source=counts(d.get("chatsBySource")),
            durations=counts(d.get("chatDurations")),
            totals=totals,
            days=dict(sorted(days.items())),
            raw=d,
        )
