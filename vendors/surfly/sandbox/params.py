"""Query-string filters shared by `/sessions/` and `/history/`.

Each helper reads one parameter and raises a 400 (`{"errors": {name: [...]}}`)
when it cannot be read. Surfly documents `agent_id`, `pin` and `tags` on
history as accepting the literal `null`; the sandbox accepts it on sessions too.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from .api import invalid
from .options import ZERO_DECIMALS, as_integer, parse_bool

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


def integer(request: HttpRequest, name: str) -> int | None:
    """An integer filter read as DRF's IntegerField reads it: a generated
    client's `2026.0` is 2026, `5.5` is refused (never silently rounded)."""
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    value = as_integer(raw)
    if value is None:
        raise invalid({name: ["A valid integer is required."]})
    return value


def number(request: HttpRequest, name: str) -> float | None:
    """A finite number (the spec types durations as "number <double>")."""
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    value = as_number(raw)
    if value is None:
        raise invalid({name: ["A valid number is required."]})
    return value


def as_number(value: str) -> float | None:
    try:
        parsed = float(value)
    except ValueError:
        return None
    return parsed if math.isfinite(parsed) else None


def _pin(value: str) -> str:
    """A PIN given as a number (`1234` or a generated client's `1234.0`) as
    the digits Surfly stores; anything else is refused."""
    digits = ZERO_DECIMALS.sub("", value)
    if not digits.isdigit():
        raise invalid({"pin": ["A valid number is required."]})
    return digits


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


def common_filters(
    request: HttpRequest, qs: QuerySet, *, numeric_pin: bool = False
) -> QuerySet:
    """active_session, agent_id, pin and tags (values of one filter are OR-ed:
    the spec's own example stacks `tags=tag1&tags=null`). `numeric_pin`: the
    PIN is typed as a number (/sessions/), not as a string (/history/)."""
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
                agent_id = as_integer(value)
                if agent_id is None:
                    raise invalid({"agent_id": ["A valid integer is required."]})
                cond |= Q(agent_id=agent_id)
        qs = qs.filter(cond)
    pins = values(request, "pin")
    if pins:
        cond = Q()
        for value in pins:
            if value.lower() == NULL:
                cond |= Q(pin__isnull=True)
            else:
                cond |= Q(pin=_pin(value) if numeric_pin else value)
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
