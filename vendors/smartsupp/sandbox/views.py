"""The Smartsupp legacy REST operations, as strict as Smartsupp.

Choices where the guide is silent (README "Smartsupp"):
- a key sees only the accounts it owns; another key's account is NotFound;
- lists answer `{"records": [...]}` in id order, the full list (no paging);
- updates answer the updated object; deletes answer 204 without content;
- user e-mails are unique across the sandbox (an e-mail is a Smartsupp login,
  "used along with password as login credentials"): 400 `EmailExists`;
- passwords are 6 to 128 characters (the partner API's minimum of 6);
- unknown fields in a create or update are refused (400, `hint` the field);
- a trigger's `event` is a lower-case word (the guide shows only "onload"),
  `conditions` are `{name, value}` with a scalar value, `actions` at least
  one `{name: "message", agent_nick, message}`; `constraints` "all" or "any";
- office hours: `days` 0..6 (0 Sunday) each once, `timezone` an integer offset
  -12..14 hours, `config` one entry per `dow` 0..6, times minutes 0..1440 with
  from < to and no overlaps within a day.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from .api import Refusal, invalid, no_content, not_found, read_body, respond
from .models import Account, ApiKey, OfficeHours, Sequence, Trigger, User

LANG = re.compile(r"^[a-z]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}$")
EVENT = re.compile(r"^[a-z][a-z_]{1,39}$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
ROLES = ("agent", "admin")
PASSWORD = (6, 128)
TEXT_MAX = 255
DAY_MINUTES = 1440
TIMEZONES = range(-12, 15)
CONSTRAINTS = ("all", "any")


# --- ids and answers ------------------------------------------------------------
def next_numbers(name: str, count: int = 1) -> int:
    """Reserve `count` public ids of kind `name`; the first of them. One
    conditional UPDATE, so concurrent processes never answer the same id."""
    with transaction.atomic(using=ALIAS):
        Sequence.objects.get_or_create(name=name, defaults={"next": 1001})
        Sequence.objects.filter(name=name).update(next=F("next") + count)
        return Sequence.objects.values_list("next", flat=True).get(name=name) - count


def account_json(a: Account) -> dict:
    return {
        "id": str(a.number),
        "title": a.title,
        "lang": a.lang,
        "accountKey": a.account_key,
    }


def user_json(u: User) -> dict:
    return {
        "id": str(u.number),
        "role": u.role,
        "email": u.email,
        "fullname": u.fullname,
        "nickname": u.nickname,
        "lang": u.lang,
        "active": u.active,
        "avatar": "",
        "note": "",
    }


def trigger_json(t: Trigger) -> dict:
    return {
        "id": str(t.number),
        "active": t.active,
        "name": t.name,
        "description": t.description,
        "event": t.event,
        "only_once": t.only_once,
        "constraints": t.constraints,
        "conditions": t.conditions,
        "actions": t.actions,
    }


def office_json(o: OfficeHours) -> dict:
    return {
        "active": o.active,
        "days": o.days,
        "timezone": o.timezone,
        "config": o.config,
    }


def _number(value: str, what: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise not_found(what)
    return int(value)


def account_of(owner: ApiKey, aid: str) -> Account:
    a = Account.objects.filter(owner=owner, number=_number(aid, "Account")).first()
    if a is None:
        raise not_found("Account")
    return a


# --- field checks ---------------------------------------------------------------
def _unknown(body: dict, allowed: tuple[str, ...]) -> None:
    for key in body:
        if key not in allowed:
            raise invalid(key, f"Unknown parameter {key}.")


def _text(body: dict, key: str, *, required: bool, limit: int = TEXT_MAX) -> str | None:
    if key not in body:
        if required:
            raise invalid(key, f"Parameter {key} is required.")
        return None
    value = body[key]
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid(key, f"Parameter {key} must be a non-empty string.")
    if len(value) > limit:
        raise invalid(key, f"Parameter {key} is longer than {limit} characters.")
    return value.strip()


def _bool(body: dict, key: str) -> bool | None:
    if key not in body:
        return None
    if not isinstance(body[key], bool):
        raise invalid(key, f"Parameter {key} must be true or false.")
    return body[key]


def _lang(body: dict, *, required: bool) -> str | None:
    if key_missing(body, "lang"):
        if required:
            raise invalid("lang", "Parameter lang is required.")
        return None
    lang = body["lang"]
    if not isinstance(lang, str) or not LANG.match(lang):
        raise invalid("lang", "Parameter lang must be two lower-case letters.")
    return lang


def key_missing(body: dict, key: str) -> bool:
    return key not in body or body[key] is None


def _role(body: dict, *, required: bool) -> str | None:
    if key_missing(body, "role"):
        if required:
            raise invalid("role", "Parameter role is required.")
        return None
    if body["role"] not in ROLES:
        raise invalid("role", "Parameter role must be agent or admin.")
    return body["role"]


def _email(body: dict, *, required: bool) -> str | None:
    email = _text(body, "email", required=required, limit=254)
    if email is not None and not EMAIL.match(email):
        raise invalid("email", "Parameter email is not a valid e-mail address.")
    return email


def _password(body: dict, *, required: bool) -> str | None:
    if key_missing(body, "password"):
        if required:
            raise invalid("password", "Parameter password is required.")
        return None
    value = body["password"]
    low, high = PASSWORD
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise invalid(
            "password", f"Parameter password must be {low} to {high} characters."
        )
    return value


# --- test -----------------------------------------------------------------------
def test(request, owner: ApiKey):
    return respond({"success": True})


def unknown(request, owner: ApiKey, rest: str = ""):
    raise Refusal(404, "NotFound", "No such resource.")


# --- accounts -------------------------------------------------------------------
def list_accounts(request, owner: ApiKey):
    rows = Account.objects.filter(owner=owner).order_by("number")
    return respond({"records": [account_json(a) for a in rows.iterator()]})


def create_account(request, owner: ApiKey):
    body = read_body(request)
    _unknown(body, ("title", "lang"))
    title = _text(body, "title", required=True)
    lang = _lang(body, required=True)
    a = Account.objects.create(
        owner=owner,
        number=next_numbers("account"),
        title=title,
        lang=lang,
        account_key=secrets.token_hex(19),
        created_at=timezone.now(),
    )
    return respond(account_json(a))


def get_account(request, owner: ApiKey, aid: str):
    return respond(account_json(account_of(owner, aid)))


def update_account(request, owner: ApiKey, aid: str):
    a = account_of(owner, aid)
    body = read_body(request)
    _unknown(body, ("title", "lang"))
    title = _text(body, "title", required=False)
    if title is not None and not title:
        raise invalid("title", "Parameter title must be a non-empty string.")
    lang = _lang(body, required=False)
    a.title = title if title is not None else a.title
    a.lang = lang or a.lang
    a.save(update_fields=["title", "lang"])
    return respond(account_json(a))


def delete_account(request, owner: ApiKey, aid: str):
    account_of(owner, aid).delete()
    return no_content()


# --- users ----------------------------------------------------------------------
USER_FIELDS = ("role", "email", "fullname", "password", "nickname", "lang", "active")


def _user(account: Account, uid: str) -> User:
    u = User.objects.filter(account=account, number=_number(uid, "User")).first()
    if u is None:
        raise not_found("User")
    return u


def _email_taken(email: str, but: int | None = None) -> bool:
    qs = User.objects.filter(email_key=email.lower())
    return qs.exclude(pk=but).exists() if but else qs.exists()


def _email_exists() -> Refusal:
    return Refusal(
        400, "EmailExists", "A user with this email already exists.", "email"
    )


def list_users(request, owner: ApiKey, aid: str):
    a = account_of(owner, aid)
    rows = User.objects.filter(account=a).order_by("number")
    return respond({"records": [user_json(u) for u in rows.iterator()]})


def create_user(request, owner: ApiKey, aid: str):
    a = account_of(owner, aid)
    body = read_body(request)
    _unknown(body, USER_FIELDS)
    role = _role(body, required=True)
    email = _email(body, required=True)
    fullname = _text(body, "fullname", required=True)
    password = _password(body, required=True)
    nickname = _text(body, "nickname", required=False)
    lang = _lang(body, required=False)
    active = _bool(body, "active")
    if _email_taken(email):
        raise _email_exists()
    try:
        with transaction.atomic(using=ALIAS):
            u = User.objects.create(
                account=a,
                number=next_numbers("user"),
                role=role,
                email=email,
                email_key=email.lower(),
                fullname=fullname,
                nickname=nickname or fullname,
                lang=lang or a.lang,
                active=True if active is None else active,
                password_length=len(password),
            )
    except IntegrityError:  # the same e-mail created at the same moment
        raise _email_exists() from None
    return respond(user_json(u))


def get_user(request, owner: ApiKey, aid: str, uid: str):
    return respond(user_json(_user(account_of(owner, aid), uid)))


def update_user(request, owner: ApiKey, aid: str, uid: str):
    u = _user(account_of(owner, aid), uid)
    body = read_body(request)
    _unknown(body, USER_FIELDS)
    role = _role(body, required=False)
    email = _email(body, required=False)
    fullname = _text(body, "fullname", required=False)
    if fullname is not None and not fullname:
        raise invalid("fullname", "Parameter fullname must be a non-empty string.")
    password = _password(body, required=False)
    nickname = _text(body, "nickname", required=False)
    lang = _lang(body, required=False)
    active = _bool(body, "active")
    if email is not None and _email_taken(email, but=u.pk):
        raise _email_exists()
    for attr, value in (
        ("role", role),
        ("fullname", fullname),
        ("nickname", nickname),
        ("lang", lang),
        ("active", active),
    ):
        if value is not None:
            setattr(u, attr, value)
    if email is not None:
        u.email, u.email_key = email, email.lower()
    if password is not None:
        u.password_length = len(password)
    try:
        with transaction.atomic(using=ALIAS):
            u.save()
    except IntegrityError:
        raise _email_exists() from None
    return respond(user_json(u))


def delete_user(request, owner: ApiKey, aid: str, uid: str):
    _user(account_of(owner, aid), uid).delete()
    return no_content()


# --- triggers -------------------------------------------------------------------
TRIGGER_FIELDS = (
    "active",
    "name",
    "description",
    "event",
    "only_once",
    "constraints",
    "conditions",
    "actions",
)


def _trigger(account: Account, tid: str) -> Trigger:
    t = Trigger.objects.filter(account=account, number=_number(tid, "Trigger")).first()
    if t is None:
        raise not_found("Trigger")
    return t


def _conditions(value: Any) -> list[dict]:
    if not isinstance(value, list):
        raise invalid("conditions", "Parameter conditions must be a list.")
    out = []
    for c in value:
        if (
            not isinstance(c, dict)
            or set(c) != {"name", "value"}
            or not isinstance(c["name"], str)
            or not NAME.match(c["name"])
            or not isinstance(c["value"], str | int | float | bool)
        ):
            raise invalid(
                "conditions",
                "Each condition is {name, value}: a lower-case name and a "
                "number, text or true/false.",
            )
        out.append({"name": c["name"], "value": c["value"]})
    return out


def _actions(value: Any) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise invalid("actions", "Parameter actions must be a non-empty list.")
    out = []
    for a in value:
        if (
            not isinstance(a, dict)
            or a.get("name") != "message"
            or not set(a) <= {"name", "agent_nick", "message"}
            or not isinstance(a.get("message"), str)
            or not a["message"].strip()
            or not isinstance(a.get("agent_nick", ""), str)
        ):
            raise invalid(
                "actions",
                "Each action is {name: message, agent_nick, message} with a "
                "non-empty message.",
            )
        out.append(
            {
                "name": "message",
                "agent_nick": a.get("agent_nick", ""),
                "message": a["message"],
            }
        )
    return out


def _trigger_fields(body: dict, *, create: bool) -> dict:
    _unknown(body, TRIGGER_FIELDS)
    fields: dict[str, Any] = {}
    name = _text(body, "name", required=create)
    if name is not None:
        if not name:
            raise invalid("name", "Parameter name must be a non-empty string.")
        fields["name"] = name
    if "description" in body:
        if not isinstance(body["description"], str):
            raise invalid("description", "Parameter description must be a string.")
        fields["description"] = body["description"]
    if create or "event" in body:
        event = body.get("event")
        if not isinstance(event, str) or not EVENT.match(event):
            raise invalid("event", "Parameter event must be a lower-case event name.")
        fields["event"] = event
    for key in ("active", "only_once"):
        value = _bool(body, key)
        if value is not None:
            fields[key] = value
    if "constraints" in body:
        if body["constraints"] not in CONSTRAINTS:
            raise invalid("constraints", "Parameter constraints must be all or any.")
        fields["constraints"] = body["constraints"]
    if create or "conditions" in body:
        fields["conditions"] = _conditions(body.get("conditions", []))
    if create or "actions" in body:
        fields["actions"] = _actions(body.get("actions"))
    return fields


def list_triggers(request, owner: ApiKey, aid: str):
    a = account_of(owner, aid)
    rows = Trigger.objects.filter(account=a).order_by("number")
    return respond({"records": [trigger_json(t) for t in rows.iterator()]})


def create_trigger(request, owner: ApiKey, aid: str):
    a = account_of(owner, aid)
    fields = _trigger_fields(read_body(request), create=True)
    t = Trigger.objects.create(account=a, number=next_numbers("trigger"), **fields)
    return respond(trigger_json(t))


def get_trigger(request, owner: ApiKey, aid: str, tid: str):
    return respond(trigger_json(_trigger(account_of(owner, aid), tid)))


def update_trigger(request, owner: ApiKey, aid: str, tid: str):
    t = _trigger(account_of(owner, aid), tid)
    fields = _trigger_fields(read_body(request), create=False)
    for key, value in fields.items():
        setattr(t, key, value)
    t.save()
    return respond(trigger_json(t))


def delete_trigger(request, owner: ApiKey, aid: str, tid: str):
    _trigger(account_of(owner, aid), tid).delete()
    return no_content()


# --- office hours ---------------------------------------------------------------
def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _days(value: Any) -> list[int]:
    if (
        not isinstance(value, list)
        or not all(_int(d) and 0 <= d <= 6 for d in value)
        or len(set(value)) != len(value)
    ):
        raise invalid("days", "Parameter days is a list of 0 (Sunday) to 6, each once.")
    return value


def _config(value: Any) -> list[dict]:
    if not isinstance(value, list):
        raise invalid("config", "Parameter config must be a list.")
    seen: set[int] = set()
    out = []
    for day in value:
        if not isinstance(day, dict) or set(day) != {"dow", "times"}:
            raise invalid("config", "Each config entry is {dow, times}.")
        dow = day["dow"]
        if not _int(dow) or not 0 <= dow <= 6 or dow in seen:
            raise invalid("config", "Each dow is 0 (Sunday) to 6, once.")
        seen.add(dow)
        times = day["times"]
        if not isinstance(times, list):
            raise invalid("config", "times must be a list of {from, to}.")
        ranges = []
        for t in times:
            if (
                not isinstance(t, dict)
                or set(t) != {"from", "to"}
                or not _int(t["from"])
                or not _int(t["to"])
                or not 0 <= t["from"] < t["to"] <= DAY_MINUTES
            ):
                raise invalid(
                    "config",
                    "Each time is {from, to} in minutes, 0 to 1440, from < to.",
                )
            ranges.append((t["from"], t["to"]))
        ranges.sort()
        if any(b[0] < a[1] for a, b in zip(ranges, ranges[1:], strict=False)):
            raise invalid("config", "The times of a day must not overlap.")
        out.append({"dow": dow, "times": [{"from": f, "to": to} for f, to in ranges]})
    return out


def update_office_hours(request, owner: ApiKey, aid: str):
    a = account_of(owner, aid)
    body = read_body(request)
    _unknown(body, ("active", "days", "timezone", "config"))
    for key in ("active", "days", "timezone", "config"):
        if key not in body:
            raise invalid(key, f"Parameter {key} is required.")
    active = _bool(body, "active")
    days = _days(body["days"])
    tz = body["timezone"]
    if not _int(tz) or tz not in TIMEZONES:
        raise invalid("timezone", "Parameter timezone is an offset from -12 to 14.")
    config = _config(body["config"])
    hours, _ = OfficeHours.objects.update_or_create(
        account=a,
        defaults={"active": active, "days": days, "timezone": tz, "config": config},
    )
    return respond(office_json(hours))
