"""How sandbox rows read as Upscope answers, and visitors' presence by the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, Mod
from django.utils import timezone

from .models import Account, CobrowsingSession, Visitor

#: A visitor's embedded sessions (`visitor.sessions`: "the last 50").
VISITOR_SESSIONS = 50
#: An agent's embedded sessions ("the agent's last 10 sessions").
AGENT_SESSIONS = 10


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, as the docs' `expiration`."""
    if value is None:
        return None
    # isoformat truncates to milliseconds as %f[:-3] did, several times faster.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def minute(now: datetime | None = None) -> int:
    return int((now or timezone.now()).timestamp() // 60)


def clock_online(v: Visitor, now: datetime) -> bool:
    if v.online_minutes <= 0 or v.cycle_minutes <= 0:
        return False
    return (minute(now) + v.phase_minutes) % v.cycle_minutes < v.online_minutes


def with_presence(qs: QuerySet, account: Account, now: datetime) -> QuerySet:
    """Annotate `in_session` and `online` (clock or session), in SQL."""
    running = CobrowsingSession.objects.filter(
        account=account, visitor_short_id=OuterRef("short_id"), ended_at__isnull=True
    )
    return qs.annotate(
        in_session=Exists(running),
        clock_pos=Mod(F("phase_minutes") + Value(minute(now)), F("cycle_minutes")),
    ).annotate(
        online=Q(in_session=True)
        | Q(online_minutes__gt=0, clock_pos__lt=F("online_minutes"))
    )


def last_seen(v: Visitor, now: datetime, online: bool) -> datetime:
    """Now when online; else the end of the last online stretch of its cycle
    (never before it was added)."""
    if online:
        return now
    if v.online_minutes <= 0 or v.cycle_minutes <= 0:
        return v.added_at
    m = minute(now)
    pos = (m + v.phase_minutes) % v.cycle_minutes
    ended = datetime.fromtimestamp((m - (pos - v.online_minutes)) * 60, tz=UTC)
    return max(ended, v.added_at)


def _length(seconds: int) -> str:
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


#: The columns a Session answer is made of, in `session_from`'s order.
SESSION_COLUMNS = (
    "number",
    "visitor_short_id",
    "started_at",
    "ended_at",
    "updated_at",
    "call_length_seconds",
    "went_live",
    "features_used",
    "agents",
    "metadata",
)


def session(s: CobrowsingSession, account: Account, now: datetime) -> dict:
    """A Session: the v1.1 example's fields plus `metadata`, `updated_at` and
    `is_ongoing` (the v1.3 object is undocumented)."""
    return session_from(
        tuple(getattr(s, name) for name in SESSION_COLUMNS), account, now
    )


def listed_columns() -> tuple:
    """`SESSION_COLUMNS` for a listing's `values_list`: the JSON columns read as
    their stored text (`session_from(..., json_text=True)` embeds it as is:
    no decoding and encoding again of what is answered unchanged)."""
    return (
        *SESSION_COLUMNS[:7],
        *(Cast(name, TextField()) for name in SESSION_COLUMNS[7:]),
    )


def session_from(
    values: tuple, account: Account, now: datetime, *, json_text: bool = False
) -> dict:
    """`session` from a row of `SESSION_COLUMNS` (a listing reads those only:
    no model instance, no decoding of the columns it does not answer); with
    `json_text`, its JSON columns are JSON text (`listed_columns`)."""
    (number, visitor_short_id, started_at, ended_at, updated_at, call_length) = values[
        :6
    ]
    went_live, features_used, agents, metadata = values[6:]
    if json_text:
        features_used, agents, metadata = (
            orjson.Fragment(v) for v in (features_used, agents, metadata)
        )
    else:
        features_used, agents, metadata = (
            list(features_used),
            list(agents),
            dict(metadata),
        )
    length = int(((ended_at or now) - started_at).total_seconds())
    return {
        "id": f"s_{number}",
        "_type": "session",
        "visitor_id": visitor_short_id,
        "started_at": iso(started_at),
        "ended_at": iso(ended_at),
        "updated_at": iso(updated_at),
        "is_ongoing": ended_at is None,
        "length_seconds": length,
        "formatted_length": _length(length),
        "call_length_seconds": call_length,
        "formatted_call_length": _length(call_length),
        "went_live": went_live,
        "features_used": features_used,
        "team": {"id": account.team_id, "domain": account.domain, "_type": "team"},
        "agents": agents,
        "metadata": metadata,
    }


def visitor(
    v: Visitor,
    account: Account,
    now: datetime,
    sessions: list[CobrowsingSession],
) -> dict:
    """A Visitor (`v` annotated by `with_presence`): the v1.3 table's fields
    and v1.1's (`unique_id`, `lookup_code`, `tags`, location, `sessions`)."""
    online = bool(v.online)
    return {
        "short_id": v.short_id,
        "_type": "visitor",
        "api_key": account.public_key,
        "added_at": iso(v.added_at),
        "last_seen_at": iso(last_seen(v, now, online)),
        "browser_name": v.browser_name or None,
        "device_name": v.device_name or None,
        "device_type": v.device_type or None,
        "call_name": v.call_name or None,
        "email": v.email or None,
        "identities": list(v.identities) or None,
        "unique_id": v.unique_id or None,
        "integration": v.integration or None,
        "ip_address": v.ip_address,
        "location_city": v.location_city or None,
        "location_country": v.location_country or None,
        "location_country_name": v.location_country_name or None,
        "last_url": v.last_url,
        "lookup_code": v.lookup_code or None,
        "tags": list(v.tags),
        "is_online": online,
        "is_in_session": bool(v.in_session),
        "is_supported": True,
        "is_waiting_for_call": False,
        "sessions": [session(s, account, now) for s in sessions],
    }


def visitor_sessions(account: Account, short_id: str) -> list[CobrowsingSession]:
    return list(
        CobrowsingSession.objects.filter(
            account=account, visitor_short_id=short_id
        ).order_by("-number")[:VISITOR_SESSIONS]
    )


def window(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)
