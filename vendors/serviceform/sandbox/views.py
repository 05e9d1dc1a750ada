"""The Serviceform Public API 1.0.1 operations, as strict as Serviceform is
documented.

Choices where the docs are silent (README "Serviceform"):
- items: values travel at the top level of the body and of the answer, keyed
  by field machine name; create needs `primary_field` and every required
  field; PUT merges (keys not sent are kept; null or "" clears an optional
  field). A value of the wrong type, a choice not among the field's options,
  an unknown key or a missing required field is 422 with
  `errors: {machine: [text]}`; a body that is not a JSON object is 400.
- chats: `startTime` and `endTime` are required ISO 8601 times (no zone is
  UTC), `endTime` not before `startTime`; the window is startTime <= start <
  endTime; `limit` 1..500 (default 100); the answer is the window's `limit`
  earliest chats, ordered by (start, cid); `history` only with `showMessages`.
- statistics: the same window rules; `metrics` (repeated or comma-separated)
  among METRICS, unknown names 400; figures computed from the chats of the
  window, so they agree with the transcripts /chats answers.
- leads: every lead, newest first, as a bare list (no paging).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from vendors.serviceform.schemas import METRICS

from .api import Refusal, error, read_body, respond, respond_fast
from .models import Account, Chat, Item, Lead, Space

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
CHAT_KEYS = {"startTime", "endTime", "uid", "limit", "showMessages", "chatbot"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,19}$")
URL = re.compile(r"^https?://[^\s/]+\S*$")
TEXT_MAX = 255
TEXTAREA_MAX = 10_000
DURATION_BUCKETS = (("0-5 minutes", 300), ("5-10 minutes", 600), ("10+ minutes", None))


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, as the docs' examples."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


# --- spaces ---------------------------------------------------------------------
def space_record(space: Space) -> dict:
    return {"id": space.space_id, "name": space.name, "fields": list(space.fields)}


def list_spaces(request, account: Account):
    spaces = Space.objects.filter(account=account).order_by("position", "pk")
    return respond([space_record(s) for s in spaces])


def _space(account: Account, space_id: str) -> Space:
    space = Space.objects.filter(account=account, space_id=space_id).first()
    if space is None:
        raise Refusal(404, "Space not found")
    return space


# --- items ----------------------------------------------------------------------
def item_record(item: Item, space: Space, account: Account) -> dict:
    record = {
        "last_updater": item.last_updater,
        "uid": item.uid,
        "clientId": account.client_id,
        "created": iso(item.created),
        "id": item.item_id,
        "updated": iso(item.updated),
        "uuid": item.uuid,
        "space_id": space.space_id,
        "primary_field": item.primary_field,
    }
    record.update(item.values)
    return record


def _check(spec: dict, value) -> str | None:
    """Why `value` is not valid for the field `spec` (None: it is)."""
    kind = spec.get("type")
    options = [o["value"] for o in spec.get("options") or []]
    if kind in ("text", "textarea"):
        if not isinstance(value, str):
            return "Must be text."
        if len(value) > (TEXT_MAX if kind == "text" else TEXTAREA_MAX):
            return "Too long."
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "Must be a number."
        if value != value or value in (float("inf"), float("-inf")):
            return "Must be a number."
    elif kind == "date":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return "Must be a date (YYYY-MM-DD)."
        try:
            if parse_date(value) is None:
                return "Must be a date (YYYY-MM-DD)."
        except ValueError:
            return "Not a valid date."
    elif kind == "datetime":
        if not isinstance(value, str) or _time(value) is None:
            return "Must be an ISO 8601 date and time."
    elif kind == "select":
        if not isinstance(value, str) or value not in options:
            return "Not one of the options."
    elif kind == "multiselect":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "Must be a list of options."
        if any(v not in options for v in value):
            return "Not one of the options."
        if len(set(value)) != len(value):
            return "An option is chosen twice."
    elif kind == "checkbox":
        if not isinstance(value, bool):
            return "Must be true or false."
    elif kind == "email":
        if not isinstance(value, str) or not EMAIL.match(value):
            return "Must be an e-mail address."
    elif kind == "phone":
        if not isinstance(value, str) or not PHONE.match(value):
            return "Must be a phone number."
    elif kind == "url" and (
        not isinstance(value, str) or not URL.match(value) or len(value) > 2000
    ):
        return "Must be an http(s) URL."
    return None


def _empty(value) -> bool:
    return value is None or value == "" or value == []


def validate(space: Space, body: dict, current: Item | None) -> tuple[str, dict]:
    """The item's primary field and values after applying `body` (create when
    `current` is None), or a 422 with every field's errors at once."""
    specs = {f["machine"]: f for f in space.fields}
    problems: dict[str, list[str]] = {}
    values = dict(current.values) if current else {}
    primary = current.primary_field if current else ""
    for key, value in body.items():
        if key == "primary_field":
            if not isinstance(value, str) or not value.strip():
                problems[key] = ["This field is required."]
            elif len(value) > 500:
                problems[key] = ["Too long."]
            else:
                primary = value
        elif key not in specs:
            problems[key] = ["Unknown field."]
        elif _empty(value):
            if specs[key].get("required"):
                problems[key] = ["This field is required."]
            values.pop(key, None)
        else:
            why = _check(specs[key], value)
            if why:
                problems[key] = [why]
            else:
                values[key] = value
    if current is None:
        if "primary_field" not in body:
            problems["primary_field"] = ["This field is required."]
        for machine, spec in specs.items():
            if spec.get("required") and machine not in body:
                problems[machine] = ["This field is required."]
    if problems:
        raise Refusal(422, "Validation failed", problems)
    return primary, values


def list_items(request, account: Account, space_id: str):
    space = _space(account, space_id)
    items = Item.objects.filter(space=space).order_by("created", "pk")
    return respond([item_record(i, space, account) for i in items])


def _item(space: Space, item_id: str) -> Item:
    item = Item.objects.filter(space=space, item_id=item_id).first()
    if item is None:
        raise Refusal(404, "Item not found")
    return item


def create_item(request, account: Account, space_id: str):
    space = _space(account, space_id)
    body = read_body(request)
    primary, values = validate(space, body, None)
    now = timezone.now()
    item = Item.objects.create(
        space=space,
        item_id=secrets.token_hex(10),
        uid=account.api_user,
        uuid=str(uuid.uuid4()),
        primary_field=primary,
        values=values,
        created=now,
        updated=now,
        last_updater=account.api_user,
    )
    return respond(item_record(item, space, account))


def get_item(request, account: Account, space_id: str, item_id: str):
    space = _space(account, space_id)
    return respond(item_record(_item(space, item_id), space, account))


def update_item(request, account: Account, space_id: str, item_id: str):
    space = _space(account, space_id)
    with transaction.atomic(using="sandbox"):
        item = _item(space, item_id)
        body = read_body(request)
        item.primary_field, item.values = validate(space, body, item)
        item.updated = timezone.now()
        item.last_updater = account.api_user
        item.save(update_fields=["primary_field", "values", "updated", "last_updater"])
    return respond(item_record(item, space, account))


def delete_item(request, account: Account, space_id: str, item_id: str):
    space = _space(account, space_id)
    item = _item(space, item_id)
    Item.objects.filter(pk=item.pk).delete()
    return respond({"id": item_id, "deleted": True})


# --- leads ----------------------------------------------------------------------
def list_leads(request, account: Account):
    leads = Lead.objects.filter(account=account).order_by("-created", "-pk")
    return respond([dict(lead.data) for lead in leads.iterator()])


# --- chats ----------------------------------------------------------------------
def _time(text) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        value = parse_datetime(text.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        return None
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _window(start_text, end_text) -> tuple[datetime, datetime]:
    if start_text is None or start_text == "":
        raise Refusal(400, "startTime is required")
    if end_text is None or end_text == "":
        raise Refusal(400, "endTime is required")
    start, end = _time(start_text), _time(end_text)
    if start is None:
        raise Refusal(400, "startTime must be an ISO 8601 time")
    if end is None:
        raise Refusal(400, "endTime must be an ISO 8601 time")
    if end < start:
        raise Refusal(400, "endTime is before startTime")
    return start, end


#: The Chat columns an answer is built from (read as values: no model instances).
CHAT_COLUMNS = (
    "cid",
    "uid",
    "started",
    "ended",
    "chatbot",
    "agent_email",
    "agent_id",
    "agent_name",
    "agent_joined",
    "first_name",
    "last_name",
    "email",
    "phone",
    "url",
    "message_count",
    "first_response",
    "rating",
    "source",
    "messages",
)


def chat_record(chat: Chat | dict, show_messages: bool) -> dict:
    """A chat as /chats answers it: `chat` is a Chat or a dict of its
    CHAT_COLUMNS (what `list_chats` reads)."""
    c = chat if isinstance(chat, dict) else {n: getattr(chat, n) for n in CHAT_COLUMNS}
    messages = c["messages"] or []
    last = messages[-1] if messages else {}
    chatbot, started = c["chatbot"], c["started"]
    first_name, last_name = c["first_name"], c["last_name"]
    record = {
        "cid": c["cid"],
        "uid": c["uid"],
        "created": iso(started),
        "ended": iso(c["ended"]),
        "chatbot": chatbot,
        "agentEmail": c["agent_email"] or None,
        "agentId": c["agent_id"] or None,
        "agentName": c["agent_name"] or None,
        "agentJoinedTime": epoch(c["agent_joined"]),
        "livechat": 0 if chatbot else 1,
        "livechatStarted": None if chatbot else epoch(started),
        "first_name": first_name,
        "last_name": last_name,
        "name": " ".join(x for x in (first_name, last_name) if x),
        "email": c["email"] or None,
        "phone": c["phone"] or None,
        "fullUrl": c["url"] or None,
        "changed": epoch(c["ended"]),
        "lastMessage": last.get("message"),
        "lastMessageTime": last.get("timestamp"),
        "lastSender": last.get("sender"),
        "msgType": "text",
        "messageCount": c["message_count"],
        "firstResponseTime": c["first_response"],
        "rating": c["rating"],
        "source": c["source"],
        "sitename": "Acme (sandbox)",
    }
    if show_messages:
        record["history"] = list(messages)
    return record


def _flag(body: dict, name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise Refusal(400, f"{name} must be true or false")
    return value


def list_chats(request, account: Account):
    body = read_body(request)
    unknown = sorted(set(body) - CHAT_KEYS)
    if unknown:
        raise Refusal(400, f"Unknown parameter: {', '.join(unknown)}")
    start, end = _window(body.get("startTime"), body.get("endTime"))
    limit = body.get("limit")
    if limit is None:
        limit = DEFAULT_LIMIT
    elif isinstance(limit, bool) or not isinstance(limit, int):
        raise Refusal(400, "limit must be a whole number")
    elif not 1 <= limit <= MAX_LIMIT:
        raise Refusal(400, f"limit must be between 1 and {MAX_LIMIT}")
    show = bool(_flag(body, "showMessages"))
    chatbot = _flag(body, "chatbot")
    qs = Chat.objects.filter(account=account, started__gte=start, started__lt=end)
    uid = body.get("uid")
    if uid is not None:
        if not isinstance(uid, str):
            raise Refusal(400, "uid must be text")
        qs = qs.filter(uid=uid)
    if chatbot is not None:
        qs = qs.filter(chatbot=chatbot)
    # `messages` is read even without showMessages: lastMessage, lastSender
    # and lastMessageTime come from it (in the same query, never per chat).
    # Values, not model instances, and orjson for the answer: a page of 500
    # chats with their transcripts is the sandbox's largest answer, and the
    # portal's backfill waits for it.
    found = qs.order_by("started", "cid").values(*CHAT_COLUMNS)[:limit]
    return respond_fast([chat_record(c, show) for c in found])


# --- statistics -----------------------------------------------------------------
def _metrics(request) -> list[str]:
    names: list[str] = []
    for raw in request.GET.getlist("metrics") + request.GET.getlist("metrics[]"):
        names.extend(n.strip() for n in raw.split(",") if n.strip())
    unknown = sorted(set(names) - set(METRICS))
    if unknown:
        raise Refusal(400, f"Unknown metric: {', '.join(unknown)}")
    return list(dict.fromkeys(names)) or list(METRICS)


class _Figures:
    """Running totals of one set of chats (the window, a day, an agent)."""

    def __init__(self) -> None:
        self.chats = self.chatbot = self.messages = 0
        self.duration = 0
        self.responses: list[int] = []
        self.ratings: list[int] = []

    def add(self, started, ended, chatbot, first_response, rating, count) -> None:
        self.chats += 1
        self.chatbot += bool(chatbot)
        self.messages += count
        self.duration += int((ended - started).total_seconds())
        if first_response is not None:
            self.responses.append(first_response)
        if rating is not None:
            self.ratings.append(rating)

    @staticmethod
    def _avg(values) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    def metric(self, name: str):
        return {
            "chats": self.chats,
            "chatbot_chats": self.chatbot,
            "human_chats": self.chats - self.chatbot,
            "messages": self.messages,
            "avg_duration": round(self.duration / self.chats, 2)
            if self.chats
            else None,
            "avg_first_response": self._avg(self.responses),
            "rating": self._avg(self.ratings),
        }[name]


def chat_statistics(request, account: Account):
    start, end = _window(request.GET.get("startTime"), request.GET.get("endTime"))
    names = _metrics(request)
    total = _Figures()
    days: dict[date, _Figures] = defaultdict(_Figures)
    agents: dict[str, tuple[str, _Figures]] = {}
    sources: dict[str, int] = defaultdict(int)
    durations = {label: 0 for label, _ in DURATION_BUCKETS}
    rows = (
        Chat.objects.filter(account=account, started__gte=start, started__lt=end)
        .order_by("started", "cid")
        .values_list(
            "started",
            "ended",
            "chatbot",
            "first_response",
            "rating",
            "message_count",
            "agent_id",
            "agent_name",
            "source",
        )
    )
    for (
        started,
        ended,
        chatbot,
        first,
        rating,
        count,
        agent,
        name,
        source,
    ) in rows.iterator(chunk_size=5000):
        figures = (started, ended, chatbot, first, rating, count)
        total.add(*figures)
        days[started.astimezone(UTC).date()].add(*figures)
        if agent:
            agents.setdefault(agent, (name, _Figures()))[1].add(*figures)
        sources[source or "unknown"] += 1
        seconds = (ended - started).total_seconds()
        for label, limit in DURATION_BUCKETS:
            if limit is None or seconds < limit:
                durations[label] += 1
                break
    return respond(
        {
            "totalChats": total.chats,
            "averageResponseTime": total.metric("avg_first_response"),
            "satisfactionScore": total.metric("rating"),
            "chatsByAgent": [
                {
                    "agentId": agent,
                    "agentName": name,
                    "totalChats": figures.chats,
                    "averageResponseTime": figures.metric("avg_first_response"),
                }
                for agent, (name, figures) in sorted(agents.items())
            ],
            "chatsBySource": dict(sorted(sources.items())),
            "chatDurations": durations,
            "metrics": {n: total.metric(n) for n in names},
            "days": [
                {"date": day.isoformat(), **{n: f.metric(n) for n in names}}
                for day, f in sorted(days.items())
            ],
        }
    )


def unknown(request, account: Account, rest: str = ""):
    return error(404, "Not found")
