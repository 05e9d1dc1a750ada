"""Lenient readers for vendor payloads, shared by every vendor's `schemas.py`.

Vendors send numbers as text ("123"), booleans as 0/1 or "true", and times with or
without a zone; where a vendor's contract is silent, its schemas read values with
these and say so. Anything unreadable becomes None, never an exception: one odd
field must not lose the rest of a page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

_TRUE = frozenset({"true", "1", "yes", "y", "on"})


def as_int(value: Any) -> int | None:
    """Whole numbers, also sent as text ("123", "12.0"); anything else is None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def as_bool(value: Any) -> bool | None:
    """True/False, 0/1 and their spellings as text; empty is None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    return str(value).strip().lower() in _TRUE


def as_dt(value: Any) -> datetime | None:
    """ISO 8601 ("2016-12-19T14:20:22Z"); a time without a zone is taken as UTC
    (every vendor example so far is UTC)."""
    if not value or isinstance(value, bool | int | float | dict | list):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = parse_datetime(text.replace("Z", "+00:00"))
            except ValueError:
                return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
