"""What SameSurf accepts in a request body, field by field, and the errorcode it
answers otherwise (vendor-apis.md §2.3). Where the docs name a rule but no code
(an unknown disabled feature, a bookmark without a link, a non-numeric `skip`),
the answer is 100 "Unknown error"; inside createsubscription it is 121 "Failed
to create subscription". README "SameSurf" lists these choices.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from vendors.samesurf.schemas import FEATURES, OVERRIDE_KEYS

from .api import Refusal

ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?(Z)?$")
# The docs' own wording: "dd/MM/yyyyThh:mm:ssZ" (their example is ISO 8601).
DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})T(\d{2}):(\d{2})(?::(\d{2}))?(Z)?$")


def text(body: dict, name: str, code: int = 100, *, required: bool = False) -> str:
    """A string field ("" when absent); a missing required one is `code`."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise Refusal(code, f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise Refusal(code, f"{name} must be a string")
    return value


def room_number(body: dict) -> str:
    """`room` is a string in the docs; a whole number is read as one too."""
    value = body.get("room")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise Refusal(102, "room is required")
    return value.strip()


def number(
    body: dict,
    name: str,
    code: int = 100,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    default: int | None = None,
    required: bool = False,
) -> int | None:
    """A whole number field within [minimum, maximum], else `code`."""
    value = body.get(name)
    if value is None:
        if required:
            raise Refusal(code, f"{name} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refusal(code, f"{name} must be a number")
    if value != int(value) or value < minimum or (maximum and value > maximum):
        bounds = f">= {minimum}" + (f" and <= {maximum}" if maximum else "")
        raise Refusal(code, f"{name} must be a whole number {bounds}")
    return int(value)


def flag(body: dict, name: str, *, required: bool = False) -> bool:
    value = body.get(name)
    if value is None and not required:
        return False
    if not isinstance(value, bool):
        raise Refusal(100, f"{name} must be true or false")
    return value


def url(value: Any, name: str, code: int) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise Refusal(code, f"{name} must be an http(s) URL")
    return value


def items(body: dict, name: str, keys: dict[str, type], code: int) -> list[dict]:
    """A list of objects, each with exactly-typed `keys` (all required)."""
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refusal(code, f"{name} must be an array")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise Refusal(code, f"{name}[{i}] must be an object")
        for key, kind in keys.items():
            if not isinstance(item.get(key), kind) or item.get(key) == "":
                raise Refusal(code, f"{name}[{i}].{key} is required ({kind.__name__})")
        out.append({key: item[key] for key in keys})
    return out


def bookmarks(body: dict, code: int = 100) -> list[dict]:
    marks = items(body, "bookmarks", {"name": str, "link": str}, code)
    for mark in marks:
        url(mark["link"], "bookmarks.link", code)
    return marks


def features(body: dict, name: str, code: int = 100) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or any(v not in FEATURES for v in value):
        raise Refusal(code, f"{name} must be a list of: {', '.join(FEATURES)}")
    return list(value)


def session(body: dict) -> dict:
    value = body.get("session")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refusal(100, "session must be an object")
    cookie_keys = {
        "domain": str,
        "path": str,
        "name": str,
        "value": str,
        "secure": bool,
        "httponly": bool,
    }
    cookies = items(value, "cookies", cookie_keys, 100)
    storage = items(value, "storage", {"domain": str, "name": str, "value": str}, 100)
    out = {}
    if cookies:
        out["cookies"] = cookies
    if storage:
        out["storage"] = storage
    return out


def zone(body: dict, name: str = "timezone") -> str:
    value = text(body, name, 107)
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise Refusal(107, f"{value!r} is not an IANA time zone") from None
    return value


def wall_time(value: Any, name: str, tz: str) -> datetime:
    """ISO 8601 (or the docs' dd/MM/yyyy form): a UTC time with Z, else wall
    time in `tz` (106 when no zone is given for a time without Z)."""
    if not isinstance(value, str):
        raise Refusal(108, f"{name} must be a string")
    value = value.strip()
    match = ISO.match(value)
    if match:
        y, mo, d, h, mi, s, z = match.groups()
    else:
        match = DMY.match(value)
        if not match:
            raise Refusal(108, f"{name} {value!r}")
        d, mo, y, h, mi, s, z = match.groups()
    try:
        naive = datetime(
            int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)
        )
    except ValueError:
        raise Refusal(108, f"{name} {value!r}") from None
    if z:
        return naive.replace(tzinfo=UTC)
    if not tz:
        raise Refusal(106, f"{name} has no Z, so a timezone is needed")
    return naive.replace(tzinfo=ZoneInfo(tz))


def emails(body: dict) -> str:
    value = text(body, "invitees", 104)
    addresses = [a.strip() for a in value.split(",") if a.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise Refusal(104, address) from None
    return ",".join(addresses)


def overrides(body: dict) -> list[dict]:
    pairs = items(body, "configuration_overrides", {"key": str, "value": str}, 121)
    for pair in pairs:
        if pair["key"] not in OVERRIDE_KEYS:
            raise Refusal(121, f"unknown configuration override {pair['key']!r}")
    return pairs
