"""Upscope REST API v1.3 client: one method per documented operation (10 in all).

Contract: shared/vendor-docs/upscope-api-v1.3.txt and vendor-apis.md §3. The
version is pinned here, in `default_base_url` of the account (…/v1.3/), and
nowhere else: paths below are relative to it. The key travels in the
`X-Api-Key` header. Success is `{"status": "ok", …}`; a refusal is
`{"status": "error", "error": <code>}` with an HTTP error status (401 for the
four credential codes, 402 for a plan limit, 404 for an unknown visitor or
agent, 409 when deleting a visitor who is online). An error envelope on a 200 is
treated as a refusal too (lenient: the docs never show one, but it must not
pass as data).

Interface for the layers above (sync, services, pages):

- `usage()` -> Usage
- `list_visitors(search=None, max_results=None)` -> list[Visitor]; build
  `search` with `search_query(...)` (module function) from Upscope's tokens.
- `get_visitor(short_id)` -> Visitor (NotFound on 404)
- `create_watch_url(short_id, agent_id=, agent_name=, …)` -> WatchUrl
  (QuotaExceeded on 402, NotFound on 404); checks metadata is flat first.
- `stop_session(short_id)` -> SessionStop (always `confirmed=False`)
- `delete_visitor(short_id)` (VisitorOnline on 409)
- `delete_offline_visitors()`
- `lookup_agent(email=… | external_id=…)` -> Agent (NotFound)
- `cobrowsing_sessions(updated_after=, ongoing_only=, before_id=, resume=)`
  -> Iterator[Page] of Session; each page's cursor `{"after": last_id}`
  resumes after it (`resume=`), or pass `after_id=` to start after an id.
- `onpremise_token(visitor_id, agent_id=, agent_name=)` -> OnPremiseToken
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.client import BaseVendorClient, cap
from cobrowse_portal.vendorkit.pagination import IdCursorPagination, Page

from .schemas import (
    NAKED,
    PERMISSIONS,
    Agent,
    OnPremiseToken,
    Session,
    SessionStop,
    Usage,
    Visitor,
    WatchUrl,
)

log = logging.getLogger("cobrowse.vendors.upscope")

#: `max_results` of `list`: "up to 10. Defaults to 10."
MAX_RESULTS = 10

#: The four documented 401 codes and what a person reads for each.
AUTH_MESSAGES = {
    "invalid_api_key": "Upscope does not know this API key (missing or wrong). "
    "Paste the secret key again; if it was lost, regenerate it in Upscope's "
    "settings (it is shown only once).",
    "no_subscription": "Upscope says this account has no active subscription "
    "(it expired). Renew it in Upscope before the portal can sync.",
    "api_not_enabled": "Upscope says this account's plan does not include the "
    "REST API. Ask Upscope to enable API access.",
    "please_contact_team": "Upscope has restricted API access for this account. "
    "Contact Upscope's team to have it restored.",
}
#: v1.1 called `no_subscription` `subscription_expired` (vendor-apis.md §3.9).
AUTH_MESSAGES["subscription_expired"] = AUTH_MESSAGES["no_subscription"]
QUOTA_MESSAGE = (
    "Upscope refused: this session would put the account over its subscription limits."
)
ONLINE_MESSAGE = "Upscope cannot delete a visitor who is online right now."

TAG = re.compile(r"^#[A-Z-]+$")
INTEGRATION_NAME = re.compile(r"^[a-z]{3,}$")
LOOKUP_CODE = re.compile(r"^\d{4}$")


class VisitorOnline(errors.PermanentVendorError):
    """409: a visitor who is online cannot be deleted."""


def search_query(
    text: str = "",
    *,
    email: str | None = None,
    online: bool | None = None,
    ip: str | None = None,
    unique_id: str | None = None,
    lookup_code: str | None = None,
    tags: Iterable[str] = (),
    integration_ids: Iterable[tuple[str, str] | str] = (),
) -> str:
    """Upscope's search string (vendor-apis.md §3.6) from its tokens.

    `online` True/False adds `online`/`-online`; `tags` are `#TAG` (upper-case
    letters and `-`, the `#` optional here); `integration_ids` are (name, id)
    pairs or "name:id" (name: 3+ lower-case letters). Raises ValueError for a
    value Upscope's SDK could never have set."""
    tokens: list[str] = []
    if text and text.strip():
        tokens.append(" ".join(text.split()))
    if email:
        if "@" not in email or any(c.isspace() for c in email):
            raise ValueError(f"{email!r} is not an e-mail address")
        tokens.append(email)
    if online is True:
        tokens.append("online")
    elif online is False:
        tokens.append("-online")
    for prefix, value in (("ip:", ip), ("id:", unique_id)):
        if value:
            if any(c.isspace() for c in value):
                raise ValueError(f"{prefix} value must not contain spaces")
            tokens.append(prefix + value)
    if lookup_code:
        if not LOOKUP_CODE.match(lookup_code):
            raise ValueError("a lookup code is four digits")
        tokens.append(lookup_code)
    for tag in tags:
        tag = tag if tag.startswith("#") else f"#{tag}"
        if not TAG.match(tag):
            raise ValueError(f"{tag!r}: tags are # and upper-case letters or -")
        tokens.append(tag)
    for item in integration_ids:
        if isinstance(item, str):
            name, _, ident = item.partition(":")
        else:
            name, ident = item
        if not INTEGRATION_NAME.match(name or "") or not ident or " " in ident:
            raise ValueError(f"{item!r}: an integration id is name:id")
        tokens.append(f"integration_id:{name}:{ident}")
    return " ".join(tokens)


def _flat_metadata(metadata: dict | None) -> dict | None:
    """The docs: metadata "should be flat, meaning values can only be strings,
    numbers, or booleans". Refused here, before anything is sent."""
    if not metadata:
        return None
    if not isinstance(metadata, dict):
        raise errors.PermanentVendorError(
            "metadata must be an object", field_errors={"metadata": ["Not an object."]}
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
            message = (
                f"Metadata {key!r}: values can only be text, numbers or "
                "true/false (Upscope wants it flat)."
            )
            raise errors.PermanentVendorError(
                message, vendor_message=message, field_errors={"metadata": [message]}
            )
    return dict(metadata)


def _stamp(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _visitor_path(short_id: str, tail: str = "") -> str:
    short_id = str(short_id).strip()
    if not short_id or "/" in short_id or short_id in (".", ".."):
        raise errors.NotFound("Upscope visitor ids are never empty or contain /")
    return f"visitors/{quote(short_id, safe='')}{tail}"


class UpscopeClient(BaseVendorClient):
    vendor = "upscope"
    # Upscope documents no rate limit (vendor-apis.md §3.10): no shared budget
    # unless VENDOR_RATE_LIMITS sets one; a 429 is still honoured.
    rate_limit = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.session_pager = IdCursorPagination(items_key="cobrowsing_sessions")

    # --- auth and errors ----------------------------------------------------------
    def authenticate(self, params: dict, headers: dict) -> None:
        headers["X-Api-Key"] = self.credentials.get("api_key", "")

    def parse_error(self, response):
        try:
            body = response.json()
        except ValueError:
            return None, None, {}
        return self._parse_envelope(body, response.status_code)

    @staticmethod
    def _parse_envelope(body: Any, status: int) -> tuple[Any, str | None, dict]:
        if not isinstance(body, dict):
            return None, None, {}
        code = body.get("error")
        code = code if isinstance(code, str) else None
        if code in AUTH_MESSAGES:
            return code, AUTH_MESSAGES[code], {}
        if status == 402:
            return code, QUOTA_MESSAGE, {}
        if status == 409:
            return code, ONLINE_MESSAGE, {}
        # Undocumented codes: keep Upscope's code as the message (it is short).
        message = body.get("message")
        return code, str(message) if isinstance(message, str) else code, {}

    def raise_for_response(self, response) -> None:
        status = response.status_code
        if status in (402, 409):
            code, message, _ = self.parse_error(response)
            cls = errors.QuotaExceeded if status == 402 else VisitorOnline
            raise cls(
                f"upscope answered {status}" + (f": {cap(code, 40)}" if code else ""),
                status=status,
                vendor_code=cap(code, 40) if code else None,
                vendor_message=message,
            )
        super().raise_for_response(response)

    def request_json(self, method: str, path: str, **kwargs) -> Any:
        response = self.request(method, path, **kwargs)
        body = self.decode(response)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise errors.MalformedResponse(
                f"upscope {path}: expected a JSON object", status=response.status_code
            )
        if body.get("status") == "error":
            code, message, _ = self._parse_envelope(body, response.status_code)
            cls = (
                errors.AuthError
                if code in AUTH_MESSAGES
                else errors.PermanentVendorError
            )
            raise cls(
                f"upscope {path}: error {cap(str(code), 40)}",
                status=response.status_code,
                vendor_code=cap(code, 40) if code else None,
                vendor_message=message,
            )
        return body

    def check_connection(self) -> str:
        usage = self.usage()
        online = usage.visitors_online_now
        return "API key accepted" + (
            f" ({online} visitors online)" if online is not None else ""
        )

    # --- operations ---------------------------------------------------------------
    def usage(self) -> Usage:
        """GET usage: agents, session counts and seconds, visitors."""
        return Usage.parse(self.get_json("usage"))

    def list_visitors(
        self, search: str | None = None, max_results: int | None = None
    ) -> list[Visitor]:
        """GET list: visitors matching `search` (see `search_query`), or the
        latest visitors when it is empty; at most `max_results` (1..10; 1 is
        fastest, as Upscope fans the search out over regions)."""
        if max_results is not None:
            max_results = max(1, min(MAX_RESULTS, int(max_results)))
        body = self.get_json(
            "list", params={"search": search or None, "max_results": max_results}
        )
        items = body.get("visitors")
        if items is None:
            return []
        if not isinstance(items, list):
            raise errors.MalformedResponse("upscope list: visitors is not a list")
        return [Visitor.parse(v) for v in items if isinstance(v, dict)]

    def get_visitor(self, short_id: str) -> Visitor:
        """GET visitors/{short_id} (NotFound when Upscope has no such visitor)."""
        body = self.get_json(_visitor_path(short_id))
        visitor = body.get("visitor")
        if not isinstance(visitor, dict):
            raise errors.MalformedResponse("upscope visitor: no visitor object")
        return Visitor.parse(visitor)

    def create_watch_url(
        self,
        short_id: str,
        *,
        agent_id: str,
        agent_name: str,
        naked: bool | str | None = None,
        on_end_url: str | None = None,
        retry_url: str | None = None,
        permissions: dict[str, bool] | None = None,
        metadata: dict | None = None,
        webhook_url: str | None = None,
        initial_notes: str | None = None,
        language: str | None = None,
        viewer_id: str | None = None,
        viewer_name: str | None = None,
    ) -> WatchUrl:
        """POST visitors/{short_id}/watch_url: a short-lived secure link that
        starts co-browsing with the visitor (open it at once, never store it).

        `agent_id` and `agent_name` are required (vendor-apis.md §3.4);
        `naked` False/True/"page_only"; `permissions` from schemas.PERMISSIONS;
        `metadata` flat (str/number/bool values) and stored on the session;
        Upscope POSTs the session JSON to `webhook_url` when it ends. 402 is
        QuotaExceeded."""
        agent_id, agent_name = (
            str(agent_id or "").strip(),
            str(agent_name or "").strip(),
        )
        if not agent_id or not agent_name:
            raise errors.PermanentVendorError(
                "An agent id and name are required for a watch link.",
                field_errors={"agent": ["An agent id and name are required."]},
            )
        if naked not in (None, *NAKED):
            raise ValueError("naked is False, True or 'page_only'")
        unknown = set(permissions or {}) - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown permissions: {', '.join(sorted(unknown))}")
        branding = {
            k: v
            for k, v in (
                ("naked", naked),
                ("on_end_url", on_end_url),
                ("retry_url", retry_url),
            )
            if v is not None
        }
        viewer = {
            k: v for k, v in (("id", viewer_id), ("name", viewer_name)) if v is not None
        }
        body = {
            "agent": {"id": agent_id, "name": agent_name},
            "branding": branding or None,
            "permissions": {k: bool(v) for k, v in permissions.items()}
            if permissions
            else None,
            "metadata": _flat_metadata(metadata),
            "webhook_url": webhook_url or None,
            "initial_notes": initial_notes or None,
            "language": language or None,
            "viewer": viewer or None,
        }
        answer = self.request_json(
            "POST",
            _visitor_path(short_id, "/watch_url"),
            json={k: v for k, v in body.items() if v is not None},
        )
        link = WatchUrl.parse(answer)
        if not link.watch_url:
            raise errors.MalformedResponse("upscope watch_url: no http(s) link")
        return link

    def stop_session(self, short_id: str) -> SessionStop:
        """DELETE visitors/{short_id}/session. Upscope answers ok even when no
        session was running, so the answer is never a confirmation."""
        self.request_json("DELETE", _visitor_path(short_id, "/session"))
        return SessionStop(visitor_id=str(short_id), confirmed=False)

    def delete_visitor(self, short_id: str) -> None:
        """DELETE visitors/{short_id}: the visitor's data, entirely (offline
        visitors only: VisitorOnline on 409; NotFound on 404)."""
        self.request_json("DELETE", _visitor_path(short_id))

    def delete_offline_visitors(self) -> None:
        """DELETE visitors?all=true: every visitor who is offline (Upscope does
        it in the background; it can take minutes)."""
        self.request_json("DELETE", "visitors", params={"all": "true"})

    def lookup_agent(
        self, *, email: str | None = None, external_id: str | None = None
    ) -> Agent:
        """GET agents/lookup by `email` (a user) or `external_id` (an external
        agent): exactly one of them. NotFound when there is none."""
        if bool(email) == bool(external_id):
            raise ValueError("give exactly one of email or external_id")
        params = {"email": email} if email else {"external_id": external_id}
        body = self.get_json("agents/lookup", params=params)
        agent = body.get("agent")
        if not isinstance(agent, dict):
            raise errors.MalformedResponse("upscope agents/lookup: no agent object")
        return Agent.parse(agent)

    def cobrowsing_sessions(
        self,
        *,
        after_id: str | None = None,
        before_id: str | None = None,
        updated_after: datetime | str | None = None,
        ongoing_only: bool = False,
        resume: dict | None = None,
    ) -> Iterator[Page]:
        """GET cobrowsing_sessions/list page by page, first to last by start;
        `has_more` and `last_id` drive `after_id`. Each page's cursor
        (`{"after": last_id}`) resumes after it; items are Session.

        The page size is Upscope's (undocumented, none can be asked for)."""
        params = {
            "before_id": before_id or None,
            "updated_after": _stamp(updated_after) if updated_after else None,
            "ongoing_only": "true" if ongoing_only else None,
        }
        if resume is None and after_id:
            resume = {"after": after_id}
        for page in self.session_pager.pages(
            self, "cobrowsing_sessions/list", params, resume=resume
        ):
            page.items = [Session.parse(s) for s in page.items if isinstance(s, dict)]
            yield page

    def onpremise_token(
        self, visitor_id: str, *, agent_id: str, agent_name: str
    ) -> OnPremiseToken:
        """POST onpremise/token: authorise an on-premise session with the
        visitor (agent id and name required). 402 is QuotaExceeded ("not
        authorized"). The docs' answer has no `status`; none is required."""
        if not str(agent_id or "").strip() or not str(agent_name or "").strip():
            raise errors.PermanentVendorError(
                "An agent id and name are required.",
                field_errors={"agent": ["An agent id and name are required."]},
            )
        body = self.request_json(
            "POST",
            "onpremise/token",
            json={
                "visitor_id": str(visitor_id),
                "agent": {"id": str(agent_id), "name": str(agent_name)},
            },
        )
        return OnPremiseToken.parse(body)
