"""Smartsupp legacy REST API client: one method per operation (17 in all).

Contract: shared/vendor-docs/smartsupp-rest-api.txt and vendor-apis.md §5.2.
The API root is `http://api.smartsupp.com` (plain http is the vendor's
documented default: the outbound policy allows http for exactly that origin,
because the registry's `default_base_url` names it; `vendorkit.outbound.
documented_http_origins`). Paths are the ones the official PHP wrapper builds:
`resource/` for a list (trailing slash), `resource/create`, and
`resource/{id}/get|update|delete`.

- The key travels in the `apiKey` header only. The API also accepts it as a
  query parameter, which would put it in access logs: never used here (and
  `auth_params` strips it should a URL ever carry it).
- Only GET and POST: POST with a JSON body creates or updates; get, list and
  delete are GETs.
- Errors are 4xx with `{error: <type>, message}`; 401 `AuthError` is a
  rejected key. A `hint` naming the offending field (as the partner API
  sends, vendor-apis.md §5.3) becomes that field's error.
- Lists: Unknown (§5.2) beyond the wrapper's `records[]`; `{records: [...]}`
  and a bare list are both read. Pagination: none documented, so each list is
  one call answering the full list.

Interface for the layers above (sync, services, pages):

- `test()` / `check_connection()`
- accounts: `list_accounts()`, `create_account(title, lang)`,
  `get_account(aid)`, `update_account(aid, **fields)`, `delete_account(aid)`
- users: `list_users(aid)`, `create_user(aid, role, email, fullname, password,
  nickname=None, lang=None)`, `get_user`, `update_user(aid, uid, **fields)`,
  `delete_user`
- triggers: `list_triggers(aid)`, `create_trigger(aid, name=, event=,
  conditions=, actions=, …)`, `get_trigger`, `update_trigger(aid, tid,
  **fields)`, `delete_trigger`
- `update_office_hours(aid, active, days, timezone, config)` -> OfficeHours
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.client import BaseVendorClient

from .schemas import (
    DAY_MINUTES,
    DAYS,
    ROLES,
    Account,
    Action,
    Condition,
    DayHours,
    OfficeHours,
    Trigger,
    User,
    records,
)

log = logging.getLogger("cobrowse.vendors.smartsupp")

#: The documented API root (http, as the guide and the PHP wrapper use it).
DEFAULT_BASE_URL = "http://api.smartsupp.com"
#: The header the key travels in (the guide: "using request header is
#: recommended").
KEY_HEADER = "apiKey"
AUTH_MESSAGE = (
    "Smartsupp does not accept this API key (missing, wrong or revoked). Paste "
    "the partner API key again; Smartsupp issues keys on request."
)
LANG = re.compile(r"^[a-z]{2}$")
#: Fields `update_account` may send (what `create` takes; the guide names no
#: other account field).
ACCOUNT_FIELDS = ("title", "lang")
USER_FIELDS = ("role", "email", "fullname", "nickname", "lang", "password", "active")
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


def _id(value: Any, what: str) -> str:
    """An id for a path segment: never empty, never a path of its own."""
    text = str(value if value is not None else "").strip()
    if not text or "/" in text or text in (".", ".."):
        raise errors.NotFound(f"Smartsupp {what} ids are never empty or contain /")
    return quote(text, safe="")


def _invalid(field: str, message: str) -> errors.PermanentVendorError:
    return errors.PermanentVendorError(
        message, vendor_message=message, field_errors={field: [message]}
    )


def _check_lang(lang: Any) -> str:
    lang = str(lang or "").strip()
    if not LANG.match(lang):
        raise _invalid("lang", "A language is two lower-case letters (e.g. en).")
    return lang


def _check_role(role: Any) -> str:
    if role not in ROLES:
        raise _invalid("role", "A user's role is agent or admin.")
    return role


def _only(fields: dict, allowed: Iterable[str], what: str) -> dict:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValueError(f"{what}: unknown fields {', '.join(unknown)}")
    return {k: v for k, v in fields.items() if v is not None}


def _conditions(items: Iterable[Condition | dict]) -> list[dict]:
    return [c.as_json() if isinstance(c, Condition) else dict(c) for c in items]


def _actions(items: Iterable[Action | dict]) -> list[dict]:
    return [a.as_json() if isinstance(a, Action) else dict(a) for a in items]


def _office_config(config: Iterable[DayHours | dict]) -> list[dict]:
    """The documented minutes format, checked before sending: dow 0..6, each
    range within 0..1440 with from < to, ranges of a day not overlapping."""
    out = []
    for day in config:
        day = day.as_json() if isinstance(day, DayHours) else dict(day)
        if day.get("dow") not in DAYS:
            raise _invalid("config", "A day of the week is 0 (Sunday) to 6.")
        times = sorted(
            (dict(t) for t in day.get("times") or ()), key=lambda t: t.get("from", 0)
        )
        end = -1
        for t in times:
            start, stop = t.get("from"), t.get("to")
            if not (
                isinstance(start, int)
                and isinstance(stop, int)
                and 0 <= start < stop <= DAY_MINUTES
            ):
                raise _invalid(
                    "config", "Office hours run from 0 to 1440 minutes, from < to."
                )
            if start < end:
                raise _invalid("config", "Office hours of a day must not overlap.")
            end = stop
        out.append({"dow": day["dow"], "times": times})
    return out


class SmartsuppClient(BaseVendorClient):
    vendor = "smartsupp"
    # The legacy API documents no rate limit (vendor-apis.md §0): no shared
    # budget unless VENDOR_RATE_LIMITS sets one; a 429 is still honoured.
    rate_limit = None
    # The query-string form of the key (never sent; stripped if ever present).
    auth_params = ("apiKey",)

    # --- auth and errors ----------------------------------------------------------
    def authenticate(self, params: dict, headers: dict) -> None:
        headers[KEY_HEADER] = self.credentials.get("api_key", "")

    def parse_error(self, response):
        try:
            body = response.json()
        except ValueError:
            return None, None, {}
        if not isinstance(body, dict):
            return None, None, {}
        code = body.get("error")
        code = code if isinstance(code, str) else None
        if response.status_code == 401 or code == "AuthError":
            # Smartsupp's message repeats the key ("No account found for
            # apiKey xxxx."): never shown or kept, ours says what to do.
            return code, AUTH_MESSAGE, {}
        message = body.get("message")
        message = str(message) if isinstance(message, str) and message else code
        hint = body.get("hint")
        fields = (
            {hint: [message or "Invalid value."]}
            if isinstance(hint, str) and hint
            else {}
        )
        return code, message, fields

    def check_connection(self) -> str:
        self.test()
        return "API key accepted"

    def _object(self, method: str, path: str, **kwargs) -> dict:
        body = self.request_json(method, path, **kwargs)
        if not isinstance(body, dict):
            raise errors.MalformedResponse(f"smartsupp {path}: expected a JSON object")
        return body

    def _list(self, path: str) -> list[dict]:
        body = self.get_json(path)
        if body is not None and not isinstance(body, dict | list):
            raise errors.MalformedResponse(f"smartsupp {path}: expected a list")
        if isinstance(body, dict) and not isinstance(body.get("records", []), list):
            raise errors.MalformedResponse(f"smartsupp {path}: records is not a list")
        return records(body)

    def _maybe(self, path: str, body: dict) -> dict | None:
        """An update's answer: the object when Smartsupp sends one (the guide
        documents none for updates, only for office hours), else None."""
        answer = self.request_json("POST", path, json=body)
        return answer if isinstance(answer, dict) and answer else None

    # --- test ---------------------------------------------------------------------
    def test(self) -> bool:
        """GET test: is the key accepted? (`{"success": true}`; 401 AuthError
        otherwise)."""
        body = self.request_json("GET", "test")
        if isinstance(body, dict) and body.get("success") is False:
            raise errors.AuthError(AUTH_MESSAGE, vendor_message=AUTH_MESSAGE)
        return True

    # --- accounts -----------------------------------------------------------------
    def list_accounts(self) -> list[Account]:
        """GET accounts/: every account of the key (no paging documented)."""
        return [Account.parse(d) for d in self._list("accounts/")]

    def create_account(self, title: str, lang: str) -> Account:
        """POST accounts/create {title, lang}: the new account with its `id`
        and `accountKey` (for the chat code)."""
        title = str(title or "").strip()
        if not title:
            raise _invalid("title", "An account needs a title.")
        body = self._object(
            "POST", "accounts/create", json={"title": title, "lang": _check_lang(lang)}
        )
        account = Account.parse(body)
        if not account.id:
            raise errors.MalformedResponse("smartsupp accounts/create: no id")
        return account

    def get_account(self, aid: str) -> Account:
        """GET accounts/{aid}/get (NotFound on 404)."""
        return Account.parse(self._object("GET", f"accounts/{_id(aid, 'account')}/get"))

    def update_account(self, aid: str, **fields: Any) -> Account | None:
        """POST accounts/{aid}/update with the changed fields (title, lang);
        the updated account when Smartsupp answers one, else None."""
        body = _only(fields, ACCOUNT_FIELDS, "update_account")
        if "lang" in body:
            body["lang"] = _check_lang(body["lang"])
        answer = self._maybe(f"accounts/{_id(aid, 'account')}/update", body)
        return Account.parse(answer) if answer else None

    def delete_account(self, aid: str) -> None:
        """GET accounts/{aid}/delete (a GET: Smartsupp deletes with GET)."""
        self.request_json("GET", f"accounts/{_id(aid, 'account')}/delete")

    # --- users --------------------------------------------------------------------
    def _users(self, aid: str, tail: str = "") -> str:
        return f"accounts/{_id(aid, 'account')}/users/{tail}"

    def list_users(self, aid: str) -> list[User]:
        """GET accounts/{aid}/users/: the account's users (`records[]`)."""
        return [User.parse(d) for d in self._list(self._users(aid))]

    def create_user(
        self,
        aid: str,
        role: str,
        email: str,
        fullname: str,
        password: str,
        nickname: str | None = None,
        lang: str | None = None,
    ) -> User:
        """POST accounts/{aid}/users/create {role, email, fullname, password,
        nickname?, lang?}: the new user with its `id`. The password is sent
        once and never kept (the caller must not store it either)."""
        body = {
            "role": _check_role(role),
            "email": str(email or "").strip(),
            "fullname": str(fullname or "").strip(),
            "password": password,
            "nickname": nickname or None,
            "lang": _check_lang(lang) if lang else None,
        }
        answer = self._object(
            "POST",
            self._users(aid, "create"),
            json={k: v for k, v in body.items() if v is not None},
        )
        user = User.parse(answer)
        if not user.id:
            raise errors.MalformedResponse("smartsupp users/create: no id")
        return user

    def get_user(self, aid: str, uid: str) -> User:
        """GET accounts/{aid}/users/{uid}/get (NotFound on 404)."""
        return User.parse(
            self._object("GET", self._users(aid, f"{_id(uid, 'user')}/get"))
        )

    def update_user(self, aid: str, uid: str, **fields: Any) -> User | None:
        """POST accounts/{aid}/users/{uid}/update with the changed fields
        (role, email, fullname, nickname, lang, password, active)."""
        body = _only(fields, USER_FIELDS, "update_user")
        if "role" in body:
            _check_role(body["role"])
        if "lang" in body:
            body["lang"] = _check_lang(body["lang"])
        answer = self._maybe(self._users(aid, f"{_id(uid, 'user')}/update"), body)
        return User.parse(answer) if answer else None

    def delete_user(self, aid: str, uid: str) -> None:
        """GET accounts/{aid}/users/{uid}/delete."""
        self.request_json("GET", self._users(aid, f"{_id(uid, 'user')}/delete"))

    # --- triggers -----------------------------------------------------------------
    def _triggers(self, aid: str, tail: str = "") -> str:
        return f"accounts/{_id(aid, 'account')}/triggers/{tail}"

    def list_triggers(self, aid: str) -> list[Trigger]:
        """GET accounts/{aid}/triggers/: the account's auto-messages."""
        return [Trigger.parse(d) for d in self._list(self._triggers(aid))]

    def create_trigger(
        self,
        aid: str,
        *,
        name: str,
        event: str,
        conditions: Iterable[Condition | dict] = (),
        actions: Iterable[Action | dict] = (),
        active: bool = True,
        description: str = "",
        only_once: bool | None = None,
        constraints: str | None = None,
    ) -> Trigger:
        """POST accounts/{aid}/triggers/create {active, name, description,
        event, conditions[{name, value}], actions[{name, agent_nick,
        message}], only_once?, constraints?}: the new trigger with its `id`.
        Condition and action names are Smartsupp's (Unknown, §5.2: sent as
        given)."""
        body = {
            "active": bool(active),
            "name": name,
            "description": description,
            "event": event,
            "conditions": _conditions(conditions),
            "actions": _actions(actions),
            "only_once": only_once,
            "constraints": constraints,
        }
        answer = self._object(
            "POST",
            self._triggers(aid, "create"),
            json={k: v for k, v in body.items() if v is not None},
        )
        trigger = Trigger.parse(answer)
        if not trigger.id:
            raise errors.MalformedResponse("smartsupp triggers/create: no id")
        return trigger

    def get_trigger(self, aid: str, tid: str) -> Trigger:
        """GET accounts/{aid}/triggers/{tid}/get (NotFound on 404)."""
        return Trigger.parse(
            self._object("GET", self._triggers(aid, f"{_id(tid, 'trigger')}/get"))
        )

    def update_trigger(self, aid: str, tid: str, **fields: Any) -> Trigger | None:
        """POST accounts/{aid}/triggers/{tid}/update with the changed fields
        (e.g. `active=False` to keep a trigger for later)."""
        body = _only(fields, TRIGGER_FIELDS, "update_trigger")
        if "conditions" in body:
            body["conditions"] = _conditions(body["conditions"])
        if "actions" in body:
            body["actions"] = _actions(body["actions"])
        answer = self._maybe(self._triggers(aid, f"{_id(tid, 'trigger')}/update"), body)
        return Trigger.parse(answer) if answer else None

    def delete_trigger(self, aid: str, tid: str) -> None:
        """GET accounts/{aid}/triggers/{tid}/delete."""
        self.request_json("GET", self._triggers(aid, f"{_id(tid, 'trigger')}/delete"))

    # --- office hours -------------------------------------------------------------
    def update_office_hours(
        self,
        aid: str,
        active: bool,
        days: Iterable[int],
        timezone: int,
        config: Iterable[DayHours | dict],
    ) -> OfficeHours:
        """POST accounts/{aid}/officehours/update {active, days[], timezone,
        config[{dow, times[{from, to}]}]} (minutes from midnight): the office
        hours as stored. `timezone` is an offset in hours (assumed, see
        schemas.OfficeHours)."""
        days = list(days)
        if any(d not in DAYS for d in days) or len(set(days)) != len(days):
            raise _invalid("days", "Days are 0 (Sunday) to 6, each once.")
        if not isinstance(timezone, int) or isinstance(timezone, bool):
            raise _invalid("timezone", "The time zone is a whole-hour offset.")
        body = {
            "active": bool(active),
            "days": days,
            "timezone": timezone,
            "config": _office_config(config),
        }
        answer = self.request_json(
            "POST", f"accounts/{_id(aid, 'account')}/officehours/update", json=body
        )
        # The guide's answer echoes the hours; an empty answer means "as sent".
        return OfficeHours.parse(
            answer if isinstance(answer, dict) and answer else body
        )
