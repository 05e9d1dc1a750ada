"""Query-string filters shared by `/sessions/` and `/history/`.

Each helper reads one parameter and raises a 400 (`{"errors": {name: [...]}}`)
when it cannot be read. Surfly documents `agent_id`, `pin` and `tags` on
history as accepting the literal `null`; the sandbox accepts it on sessions too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from .api import invalid
from .options import parse_bool

NULL = "null"
# "+02:00" arrives as " 02:00" when a caller forgets to escape the plus sign.
_LOST_PLUS = re.compile(r" (\d{2}(?::?\d{2})?)$")


def values(request: HttpRequest, name: str) -> list[str]:
    """Every value of a repeatable, comma-separable parameter."""
    out: list[str] = []
    for raw in request.GET.getlist(name):
        out.extend(v.strip() for v in raw.split(",") if v.strip())
    return out


def flag(request: HttpRequest, name: str) -> bool | None:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    parsed = parse_bool(raw)
    if parsed is None:
        raise invalid({name: ["Must be a valid boolean."]})
    return parsed


def number(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(float(raw))  # the spec types these as "number <double>"
    except ValueError:
        raise invalid({name: ["A valid number is required."]}) from None


def moment(request: HttpRequest, name: str) -> datetime | None:
    """ISO 8601; a value without a zone is read as UTC."""
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    text = _LOST_PLUS.sub(r"+\1", raw.strip()).replace("Z", "+00:00")
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise invalid({name: ["Enter a valid date/time."]})
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def common_filters(request: HttpRequest, qs: QuerySet) -> QuerySet:
    """active_session, agent_id, pin and tags (values of one filter are OR-ed:
    the spec's own example stacks `tags=tag1&tags=null`)."""
    active = flag(request, "active_session")
    if active is not None:
        qs = qs.filter(end_time__isnull=active)
    agents = values(request, "agent_id")
    if agents:
        cond = Q()
        for value in agents:
            if value.lower() == NULL:
                cond |= Q(agent_id__isnull=True)
            else:
                try:
                    cond |= Q(agent_id=int(float(value)))
                except ValueError:
                    raise invalid(
                        {"agent_id": ["A valid integer is required."]}
                    ) from None
        qs = qs.filter(cond)
    pins = values(request, "pin")
    if pins:
        cond = Q()
        for value in pins:
            cond |= Q(pin__isnull=True) if value.lower() == NULL else Q(pin=value)
        qs = qs.filter(cond)
    tags = values(request, "tags")
    if tags:
        cond = Q()
        for value in tags:
            if value.lower() == NULL:
                cond |= Q(tags_text="")
            else:
                cond |= Q(tags_text__contains=f",{value},")
        qs = qs.filter(cond)
    return qs


def tags_text(tags: list[str]) -> str:
    return f",{','.join(tags)}," if tags else ""
