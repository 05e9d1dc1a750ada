"""Serviceform Public API 1.0.1 client: one method per documented operation.

Contract: shared/vendor-docs/serviceform-public-api.txt and vendor-apis.md §4.
Base `https://link.serviceform.com`; paths below are relative to it. The key
travels in the `sf-api-key` header; a bad key is 403 (the leads section says
401: both are rejected credentials, AuthError). Success bodies are bare JSON
(arrays for lists, objects otherwise).

Unknown (vendor-apis.md §4.6) and read leniently here:
- the error body: `{message}`, `{error}`, `{error: {message}}` or plain text
  become the vendor's message (never the raw body); per-field errors from
  `errors` as `{field: [msg]}`, `{field: msg}` or `[{field, message}]`;
- leads pagination: a bare list, or an envelope (`items`/`data`/`results`/
  `leads`) with an optional `next` (a URL or page number) or `page` +
  `pages`/`hasMore`, followed until it stops;
- the chat window: `startTime` inclusive, `endTime` exclusive, and the
  `limit` earliest chats of the window in start order (the sandbox does
  exactly this; see `ChatWindowPagination` for why that makes paging exact).

Interface for the layers above (sync, services, pages):

- `list_spaces()` -> list[Space]; `check_connection()` uses it.
- `list_items(space_id)` -> list[Item] (NotFound for an unknown space)
- `create_item(space_id, values)` / `update_item(space_id, item_id, values)`
  -> Item; a 400/422 is PermanentVendorError with `field_errors` by machine name
- `get_item(space_id, item_id)` -> Item; `delete_item(space_id, item_id)`
- `list_leads()` -> list[Lead]
- `list_chats(start_time, end_time, uid=, limit=, show_messages=, chatbot=)`
  -> list[Chat] (one request); `iter_chats(start_time, end_time, …, resume=)`
  -> Iterator[Page] of Chat over any window, each chat exactly once
- `chat_statistics(start_time, end_time, metrics=None)` -> ChatStatistics
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.client import BaseVendorClient, cap
from cobrowse_portal.vendorkit.http import quick_try_active
from cobrowse_portal.vendorkit.pagination import Page

from .schemas import METRICS, Chat, ChatStatistics, Item, Lead, Space, as_time

log = logging.getLogger("cobrowse.vendors.serviceform")

BASE_URL = "https://link.serviceform.com"
#: Chats asked for per request when the caller gives no limit. Unknown
#: (vendor-apis.md §4.6): Serviceform's own default and maximum; the sandbox
#: allows 1..MAX_LIMIT.
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
#: Width of one chat window while walking a long range.
CHAT_WINDOW = timedelta(days=7)
#: Leads pages followed at most (a next link that never ends must not loop).
MAX_LEAD_PAGES = 1000
AUTH_MESSAGE = (
    "Serviceform refused the API key (sf-api-key). Check it in Serviceform's "
    "settings and paste it again."
)
#: Envelope keys a leads list may come under (Unknown, vendor-apis.md §4.6).
LIST_KEYS = ("items", "data", "results", "leads")


def stamp(value: datetime | str) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the docs' examples."""
    if isinstance(value, str):
        parsed = as_time(value)
        if parsed is None:
            raise ValueError(f"{value!r} is not an ISO 8601 time")
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _aware(value: datetime | str) -> datetime:
    parsed = as_time(value) if isinstance(value, str) else value
    if parsed is None:
        raise ValueError(f"{value!r} is not an ISO 8601 time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _segment(value: str, what: str) -> str:
    """One path segment: never empty, never `/`, `.` or `..` (a crafted id must
    not reach another endpoint)."""
    text = str(value or "").strip()
    if not text or "/" in text or text in (".", ".."):
        raise errors.NotFound(f"Serviceform {what} ids are never empty or contain /")
    return quote(text, safe="")


def _message(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "error_description"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail")
            if isinstance(value, str) and value.strip():
                return value
            if isinstance(value, list) and value and isinstance(value[0], str):
                return "; ".join(value)
    return None


def _field_errors(body: Any) -> dict[str, list[str]]:
    if not isinstance(body, dict):
        return {}
    raw = body.get("errors")
    if raw is None and isinstance(body.get("error"), dict):
        raw = body["error"].get("errors") or body["error"].get("fields")
    if raw is None:
        raw = body.get("fields")
    found: dict[str, list[str]] = {}
    if isinstance(raw, dict):
        for name, said in raw.items():
            said = said if isinstance(said, list) else [said]
            texts = [str(s) for s in said if isinstance(s, str | int | float)]
            if texts:
                found[str(name)] = texts
    elif isinstance(raw, list):
        for entry in raw:
            if not isinstance(entry, dict):
                continue
            name = entry.get("field") or entry.get("path") or entry.get("name")
            text = entry.get("message") or entry.get("msg")
            if isinstance(name, list):  # e.g. a validator's ["body", "price"]
                name = ".".join(str(p) for p in name)
            if name and isinstance(text, str):
                found.setdefault(str(name), []).append(text)
    return found


def lead_page(body: Any) -> tuple[list[dict], Any]:
    """The leads of one answer and what asks for the next page (a URL, a page
    number, or None). Unknown (vendor-apis.md §4.6): a bare list, or an
    envelope under LIST_KEYS with `next` (URL or number), or `page` with
    `pages`/`totalPages`/`hasMore`."""
    if isinstance(body, list):
        return [x for x in body if isinstance(x, dict)], None
    if not isinstance(body, dict):
        raise errors.MalformedResponse("serviceform leads: expected a list or object")
    items = next((body[k] for k in LIST_KEYS if isinstance(body.get(k), list)), None)
    if items is None:
        if "id" in body:  # the docs' example: one bare lead object
            return [body], None
        raise errors.MalformedResponse("serviceform leads: no list in the answer")
    leads = [x for x in items if isinstance(x, dict)]
    nxt = body.get("next") or body.get("nextPage") or body.get("next_page")
    if isinstance(nxt, str) and nxt.strip().isdigit():
        nxt = int(nxt)
    if isinstance(nxt, bool):
        nxt = None
    if nxt is None and isinstance(body.get("page"), int) and leads:
        page = body["page"]
        pages = body.get("pages") or body.get("totalPages")
        more = body.get("hasMore") or body.get("has_more")
        if (isinstance(pages, int) and page < pages) or more is True:
            nxt = page + 1
    return leads, nxt


class ChatWindowPagination:
    """Walk [start, end) of POST /chats in windows, each chat exactly once.

    Assumption (Unknown, vendor-apis.md §4.6; the sandbox does exactly this):
    a window is `startTime` <= chat start < `endTime`, and a window holding
    more than `limit` chats answers its `limit` earliest, in start order. So
    when an answer is full, the next request starts at the start time of its
    last chat (inclusive, so chats sharing that instant are not lost) and the
    ids already seen at that instant are dropped (so none comes twice). The
    cursor of every page (`{"start": iso, "seen": [ids at start]}`) resumes
    right after it. If one instant alone holds `limit` chats there is no way
    forward by time: the window is asked again with MAX_LIMIT, then it is an
    error rather than a silent loss. (vendorkit's TimeWindowPagination walks
    fixed GET windows; this API is a POST and needs the narrowing.)"""

    def __init__(self, window: timedelta = CHAT_WINDOW) -> None:
        self.window = window

    def pages(
        self,
        client: ServiceformClient,
        start: datetime,
        end: datetime,
        *,
        limit: int,
        resume: dict | None = None,
        **filters,
    ) -> Iterator[Page]:
        cursor, seen = start, set()
        if resume and resume.get("start"):
            cursor = _aware(resume["start"])
            seen = set(resume.get("seen") or ())
        asked = limit
        while cursor < end:
            upper = min(cursor + self.window, end)
            chats = client.list_chats(cursor, upper, limit=asked, **filters)
            timed = sorted(
                (c for c in chats if c.started is not None), key=lambda c: c.started
            )
            fresh = [
                c
                for c in chats
                if c.started is None or c.started != cursor or c.id not in seen
            ]
            if len(chats) >= asked and timed:
                last = timed[-1].started
                if last <= cursor:
                    if asked < MAX_LIMIT:
                        asked = MAX_LIMIT  # one instant fills the page: ask more
                        continue
                    raise errors.PermanentVendorError(
                        f"Serviceform has more than {asked} chats at "
                        f"{stamp(cursor)}; they cannot be paged by time."
                    )
                seen = {c.id for c in timed if c.started == last}
                cursor = last
            else:
                cursor, seen = upper, set()
            asked = limit
            yield Page(fresh, {"start": stamp(cursor), "seen": sorted(seen)})


class ServiceformClient(BaseVendorClient):
    vendor = "serviceform"
    # Serviceform documents no rate limit (vendor-apis.md §4.6): no shared budget
    # unless VENDOR_RATE_LIMITS sets one; a 429 is still honoured.
    rate_limit = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chat_pager = ChatWindowPagination()

    # --- auth and errors ----------------------------------------------------------
    def authenticate(self, params: dict, headers: dict) -> None:
        headers["sf-api-key"] = self.credentials.get("api_key", "")

    def parse_error(self, response):
        try:
            body = response.json()
        except ValueError:
            # Plain text: a short first line is Serviceform's message; HTML or a
            # long page is not (never shown raw).
            text = (response.text or "").strip()
            line = text.splitlines()[0] if text else ""
            if line and "<" not in line and len(line) <= 200:
                return None, line, {}
            return None, None, {}
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, str | int) or isinstance(code, bool):
            code = None
        message = _message(body)
        if response.status_code in (401, 403):
            message = AUTH_MESSAGE + (f" ({cap(message, 120)})" if message else "")
        return code, message, _field_errors(body)

    def request_json(self, method: str, path: str, **kwargs) -> Any:
        """Send one call and decode it. POST /chats is a read sent as POST,
        which urllib3 never retries: it is sent again here on a transient
        failure (capped, jittered backoff honouring Retry-After)."""
        if not (method == "POST" and path == "chats"):
            return super().request_json(method, path, **kwargs)
        attempts = 0
        retries = 0 if quick_try_active() else settings.VENDOR_MAX_RETRIES
        while True:
            try:
                return super().request_json(method, path, **kwargs)
            except errors.TransientVendorError as exc:
                if attempts >= retries:
                    raise
                attempts += 1
                wait = getattr(exc, "retry_after", None)
                if wait is None:
                    wait = 0.5 * 2 ** (attempts - 1) + random.uniform(0, 0.5)
                wait = min(wait, settings.VENDOR_BACKOFF_MAX)
                log.info("retrying serviceform chats in %.1fs: %s", wait, exc)
                time.sleep(wait)

    def _list(self, body: Any, what: str) -> list[dict]:
        if body is None:
            return []
        if isinstance(body, dict):  # lenient: an envelope where the docs show none
            body = next(
                (body[k] for k in LIST_KEYS if isinstance(body.get(k), list)), body
            )
        if not isinstance(body, list):
            raise errors.MalformedResponse(f"serviceform {what}: expected a list")
        return [x for x in body if isinstance(x, dict)]

    def _object(self, body: Any, what: str) -> dict:
        if isinstance(body, dict) and isinstance(body.get("item"), dict):
            body = body["item"]  # lenient: a wrapped item
        if not isinstance(body, dict):
            raise errors.MalformedResponse(f"serviceform {what}: expected an object")
        return body

    def check_connection(self) -> str:
        spaces = self.list_spaces()
        return f"API key accepted ({len(spaces)} spaces)"

    # --- flex spaces and items ----------------------------------------------------
    def list_spaces(self) -> list[Space]:
        """GET /flex/spaces: every space with its field definitions."""
        return [
            Space.parse(s) for s in self._list(self.get_json("flex/spaces"), "spaces")
        ]

    def list_items(self, space_id: str) -> list[Item]:
        """GET /flex/spaces/{spaceId}/items (NotFound for an unknown space).
        Unknown: paging; the docs show a bare array, read whole."""
        path = f"flex/spaces/{_segment(space_id, 'space')}/items"
        return [Item.parse(i) for i in self._list(self.get_json(path), "items")]

    def create_item(self, space_id: str, values: dict[str, Any]) -> Item:
        """POST /flex/spaces/{spaceId}/items with the item's values keyed by
        field machine name (and `primary_field`), at the top level as the docs'
        body. 422 (or 400) is PermanentVendorError with `field_errors`."""
        path = f"flex/spaces/{_segment(space_id, 'space')}/items"
        body = self.request_json("POST", path, json=dict(values))
        return Item.parse(self._object(body, "create item"))

    def get_item(self, space_id: str, item_id: str) -> Item:
        """GET /flex/spaces/{spaceId}/items/{itemId} (NotFound when missing)."""
        path = (
            f"flex/spaces/{_segment(space_id, 'space')}/items/"
            f"{_segment(item_id, 'item')}"
        )
        return Item.parse(self._object(self.get_json(path), "item"))

    def update_item(self, space_id: str, item_id: str, values: dict[str, Any]) -> Item:
        """PUT /flex/spaces/{spaceId}/items/{itemId} with the item's values.
        Unknown whether PUT replaces or merges: send every value the item
        should keep. 400/422 carry `field_errors`; NotFound when missing."""
        path = (
            f"flex/spaces/{_segment(space_id, 'space')}/items/"
            f"{_segment(item_id, 'item')}"
        )
        body = self.request_json("PUT", path, json=dict(values))
        return Item.parse(self._object(body, "update item"))

    def delete_item(self, space_id: str, item_id: str) -> None:
        """DELETE /flex/spaces/{spaceId}/items/{itemId} (NotFound when missing;
        the 200 body is undocumented and ignored)."""
        path = (
            f"flex/spaces/{_segment(space_id, 'space')}/items/"
            f"{_segment(item_id, 'item')}"
        )
        self.request("DELETE", path)

    # --- leads --------------------------------------------------------------------
    def list_leads(self) -> list[Lead]:
        """GET /leads, every page (see `lead_page` for the lenient reading of an
        undocumented paging scheme)."""
        found: list[Lead] = []
        target: Any = "leads"
        params: dict | None = None
        for _ in range(MAX_LEAD_PAGES):
            leads, nxt = lead_page(self.get_json(target, params=params))
            found.extend(Lead.parse(d) for d in leads)
            if nxt is None or not leads:
                return found
            if isinstance(nxt, int):
                target, params = "leads", {"page": nxt}
            else:
                target, params = self.strip_auth(str(nxt)), None
        raise errors.MalformedResponse("serviceform leads: paging did not end")

    # --- chats --------------------------------------------------------------------
    def list_chats(
        self,
        start_time: datetime | str,
        end_time: datetime | str,
        uid: str | None = None,
        limit: int | None = None,
        show_messages: bool = False,
        chatbot: bool | None = None,
    ) -> list[Chat]:
        """POST /chats with a JSON body of the documented names (`startTime`,
        `endTime`, `uid`, `limit`, `showMessages`, `chatbot`): one request, at
        most `limit` chats (1..MAX_LIMIT) of [start_time, end_time). For a
        window that may hold more, use `iter_chats`."""
        limit = DEFAULT_LIMIT if limit is None else max(1, min(MAX_LIMIT, int(limit)))
        body = {
            "startTime": stamp(start_time),
            "endTime": stamp(end_time),
            "limit": limit,
            "showMessages": bool(show_messages),
        }
        if uid:
            body["uid"] = str(uid)
        if chatbot is not None:
            body["chatbot"] = bool(chatbot)
        answer = self.request_json("POST", "chats", json=body)
        return [Chat.parse(c) for c in self._list(answer, "chats")]

    def iter_chats(
        self,
        start_time: datetime | str,
        end_time: datetime | str,
        *,
        uid: str | None = None,
        limit: int | None = None,
        show_messages: bool = False,
        chatbot: bool | None = None,
        resume: dict | None = None,
    ) -> Iterator[Page]:
        """POST /chats over [start_time, end_time) window by window (see
        ChatWindowPagination): pages of Chat, each chat once; each page's
        cursor resumes after it (`resume=`)."""
        limit = DEFAULT_LIMIT if limit is None else max(1, min(MAX_LIMIT, int(limit)))
        yield from self.chat_pager.pages(
            self,
            _aware(start_time),
            _aware(end_time),
            limit=limit,
            resume=resume,
            uid=uid,
            show_messages=show_messages,
            chatbot=chatbot,
        )

    def chat_statistics(
        self,
        start_time: datetime | str,
        end_time: datetime | str,
        metrics: Iterable[str] | None = None,
    ) -> ChatStatistics:
        """GET /statistics/chat?startTime&endTime&metrics (an array: one
        `metrics` parameter per name). Names are checked against METRICS
        before sending (Unknown: Serviceform's own list)."""
        names = list(metrics or ())
        unknown = sorted(set(names) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metrics: {', '.join(unknown)}")
        params: dict[str, Any] = {
            "startTime": stamp(start_time),
            "endTime": stamp(end_time),
        }
        if names:
            params["metrics"] = names
        body = self.get_json("statistics/chat", params=params)
        if not isinstance(body, dict):
            raise errors.MalformedResponse("serviceform statistics: expected an object")
        return ChatStatistics.parse(body)
