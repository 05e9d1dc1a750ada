"""SameSurf API v3 client: one method per documented operation (15 in all).

Contract: shared/vendor-docs/samesurf-api-v3.txt (https://dashboard.samesurf.com/api)
and vendor-apis.md §2. Every call is `POST <base>/<method>` with a JSON body. Auth
is a JWT built here, on the server, for every request: payload `{iat, sub: <API
key>}`, signed HS256 with the API secret (the secret never reaches a browser; the
unsigned `none` variant the docs offer is never used). Success is `success: true`;
a failure is `{success: false, error, errorcode}`, documented with HTTP 200, so the
envelope is checked on every answer, whatever the status.
"""

from __future__ import annotations

import logging
import random
import time
import warnings
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from django.conf import settings
from jwt.warnings import InsecureKeyLengthWarning

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.client import BaseVendorClient, cap
from cobrowse_portal.vendorkit.http import quick_try_active
from cobrowse_portal.vendorkit.pagination import Page, SkipLimitPagination
from cobrowse_portal.vendorkit.safeurl import safe_url

from .schemas import (
    AnalyticsOverview,
    AnalyticsRoom,
    ApiKey,
    CreatedRoom,
    LimitedUseToken,
    RoomAnalytics,
    RunningRoom,
)

log = logging.getLogger("cobrowse.vendors.samesurf")


class NotReseller(errors.PermanentVendorError):
    """116/117: a reseller call made with a key that is not this reseller's."""


# errorcode -> (error class, field the error belongs to, what a person reads).
# Codes from vendor-apis.md §2.3 (the page we have stops at 125; 110 is not
# listed). A code not here keeps SameSurf's own message.
ERRORS: dict[int, tuple[type[errors.VendorError], str, str]] = {
    100: (
        errors.TransientVendorError,
        "",
        "SameSurf reported an unknown error. Try again later.",
    ),
    101: (
        errors.AuthError,
        "",
        "SameSurf rejected the API key or secret (invalid JWT). Check the "
        "account's credentials.",
    ),
    102: (
        errors.PermanentVendorError,
        "room",
        "SameSurf knows no room of that number.",
    ),
    103: (errors.PermanentVendorError, "room", "This room has already been used."),
    104: (
        errors.PermanentVendorError,
        "invitees",
        "One or more invitee e-mail addresses are not valid.",
    ),
    105: (errors.PermanentVendorError, "starturl", "A start URL is required."),
    106: (
        errors.PermanentVendorError,
        "timezone",
        "A time zone is required when the event time is not in UTC.",
    ),
    107: (
        errors.PermanentVendorError,
        "timezone",
        "The time zone must be an IANA name, such as Europe/London.",
    ),
    108: (
        errors.PermanentVendorError,
        "eventtime",
        "The time is not in a format SameSurf reads (ISO 8601, e.g. "
        "2016-10-30T12:00:00).",
    ),
    109: (errors.NotFound, "recording", "SameSurf has no such screen recording."),
    111: (
        errors.TransientVendorError,
        "",
        "SameSurf could not create the image. Try again later.",
    ),
    112: (
        errors.NotFound,
        "token",
        "SameSurf knows no such limited-use token (it may have been deleted).",
    ),
    113: (errors.NotFound, "", "SameSurf knows no such webhook event."),
    114: (
        errors.PermanentVendorError,
        "name",
        "A subscription of that name already exists.",
    ),
    115: (errors.PermanentVendorError, "name", "A name is required."),
    116: (
        NotReseller,
        "",
        "Only a reseller subscription may do this; this account's API key is not "
        "a reseller's.",
    ),
    117: (
        NotReseller,
        "",
        "That subscription does not belong to this reseller.",
    ),
    118: (errors.NotFound, "name", "SameSurf has no subscription of that name."),
    119: (errors.NotFound, "", "SameSurf knows no such API key."),
    120: (
        errors.PermanentVendorError,
        "",
        "The last API key of a subscription cannot be deleted.",
    ),
    121: (
        errors.TransientVendorError,
        "",
        "SameSurf failed to create the subscription. Try again later.",
    ),
    122: (
        errors.PermanentVendorError,
        "eventtime",
        "The event time must be in the future.",
    ),
    123: (
        errors.PermanentVendorError,
        "lengthinminutes",
        "The length must be at least 1 minute.",
    ),
    124: (
        errors.PermanentVendorError,
        "licensecount",
        "The licence count must be more than 0.",
    ),
    125: (
        errors.PermanentVendorError,
        "usagelimit",
        "The usage limit must be at least 1.",
    ),
}

#: Operations that only read (or mint a temporary link): safe to send again
#: after a timeout, a 429 or a 5xx, although every SameSurf call is a POST
#: (urllib3 retries idempotent methods only, so the client retries these).
READS = frozenset(
    {
        "runningrooms",
        "find",
        "analyticsoverview",
        "analyticsrooms",
        "roomanalytics",
        "screenrecordingpubliclink",
        "screenrecordingthumbnail",
        "screenrecordingimage",
    }
)


def _wall_time(value: datetime | date, zone: str | None) -> str:
    """`value` as SameSurf's ISO 8601 wall time in `zone` (UTC, with a Z, when
    no zone is given: the docs want the Z only for UTC times)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zone) if zone else UTC)
    text = value.replace(tzinfo=None, microsecond=0).isoformat()
    return text if zone else text + "Z"


def _bookmarks(bookmarks: Iterable[dict] | None) -> list[dict] | None:
    if not bookmarks:
        return None
    return [{"name": str(b["name"]), "link": str(b["link"])} for b in bookmarks]


def _overrides(overrides: dict | Iterable | None) -> list[dict] | None:
    """`{key: value}` or `[(key, value)]` -> the documented [{key, value}] (values
    are strings in the docs' example, "false" included)."""
    if not overrides:
        return None
    pairs = overrides.items() if isinstance(overrides, dict) else overrides
    out = []
    for key, value in pairs:
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append({"key": str(key), "value": str(value)})
    return out


def _drop_none(body: dict) -> dict:
    return {k: v for k, v in body.items() if v is not None}


class SameSurfClient(BaseVendorClient):
    vendor = "samesurf"
    # SameSurf documents no rate limit (vendor-apis.md §2.2): no shared budget
    # unless VENDOR_RATE_LIMITS sets one; a 429 is still honoured.
    rate_limit = None
    #: Rooms asked for per page (both listings).
    page_size = 100

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.room_pager = SkipLimitPagination(
            items_key="rooms",
            total_key="totalrooms",
            limit=self.page_size,
            in_body=True,
        )
        # analyticsrooms pages with `take` and answers `total_rooms` (a string
        # in the docs' example; the pager reads it leniently).
        self.analytics_pager = SkipLimitPagination(
            items_key="rooms",
            total_key="total_rooms",
            limit_param="take",
            limit=self.page_size,
            in_body=True,
        )

    # --- auth and errors ----------------------------------------------------------
    def token(self) -> str:
        """A fresh JWT for one request: {iat, sub: key}, HS256 with the secret."""
        payload = {"iat": int(time.time()), "sub": self.credentials.get("api_key", "")}
        with warnings.catch_warnings():
            # SameSurf issues the secret; its length is not ours to choose.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return jwt.encode(
                payload, self.credentials.get("api_secret", ""), algorithm="HS256"
            )

    def authenticate(self, params: dict, headers: dict) -> None:
        headers["Authorization"] = f"Bearer {self.token()}"

    def parse_error(self, response):
        """SameSurf's `{success: false, error, errorcode}`: (code, our message
        for it, {field: [message]})."""
        try:
            body = response.json()
        except ValueError:
            return None, None, {}
        return self._parse_envelope(body)

    @staticmethod
    def _parse_envelope(body: Any) -> tuple[Any, str | None, dict]:
        if not isinstance(body, dict):
            return None, None, {}
        code = body.get("errorcode")
        if isinstance(code, str) and code.strip().isdigit():
            code = int(code)
        said = body.get("error") if isinstance(body.get("error"), str) else None
        known = ERRORS.get(code) if isinstance(code, int) else None
        if known is None:
            return code, said, {}
        _, field, message = known
        return code, message, ({field: [message]} if field else {})

    def raise_for_response(self, response) -> None:
        """An HTTP error status. An envelope with a known errorcode decides the
        class (SameSurf may answer its errors with 4xx too); 429 and 5xx stay
        transient whatever the body says."""
        if response.status_code == 429 or response.status_code >= 500:
            super().raise_for_response(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("errorcode") is not None:
            self._raise(body, response.status_code)
        super().raise_for_response(response)

    def _raise(self, body: dict, status: int) -> None:
        code, message, fields = self._parse_envelope(body)
        cls = ERRORS[code][0] if code in ERRORS else errors.PermanentVendorError
        said = body.get("error")
        detail = f"samesurf answered {status}, errorcode {code}"
        if said:
            detail += f": {cap(str(said))}"
        raise cls(
            detail,
            status=status,
            vendor_code=code if isinstance(code, int | str) else None,
            vendor_message=cap(message) if message else None,
            field_errors=fields,
        )

    def request_json(self, method: str, path: str, **kwargs) -> Any:
        """Send one call and check SameSurf's envelope (`success`, also on 200).

        Read operations (READS) are sent again on a transient failure, with a
        capped, jittered backoff that honours Retry-After."""
        attempts = 0
        retries = 0 if quick_try_active() else settings.VENDOR_MAX_RETRIES
        while True:
            try:
                return self._call(method, path, **kwargs)
            except errors.TransientVendorError as exc:
                if path not in READS or attempts >= retries:
                    raise
                attempts += 1
                wait = getattr(exc, "retry_after", None)
                if wait is None:
                    wait = 0.5 * 2 ** (attempts - 1) + random.uniform(0, 0.5)
                wait = min(wait, settings.VENDOR_BACKOFF_MAX)
                log.info("retrying samesurf %s in %.1fs: %s", path, wait, exc)
                time.sleep(wait)

    def _call(self, method: str, path: str, **kwargs) -> Any:
        response = self.request(method, path, **kwargs)
        body = self.decode(response)
        if not isinstance(body, dict):
            raise errors.MalformedResponse(
                f"samesurf {path}: expected a JSON object", status=response.status_code
            )
        if body.get("success") is False or body.get("errorcode") not in (None, 0):
            self._raise(body, response.status_code)
        return body

    def call(self, method: str, body: dict | None = None) -> dict:
        """POST <base>/<method> with `body` (no body at all when there is none)."""
        return self.request_json(
            "POST", method, json=_drop_none(body) if body else None
        )

    def check_connection(self) -> str:
        overview = self.analytics_overview()
        total = overview.rooms_total
        return "API key and secret accepted" + (
            f" ({total} rooms in analytics)" if total is not None else ""
        )

    # --- rooms ----------------------------------------------------------------------
    def running_rooms(self, resume: dict | None = None) -> Iterator[Page]:
        """POST runningrooms page by page (`skip` + `limit`, `totalrooms`); each
        page's cursor resumes after it; items are RunningRoom."""
        for page in self.room_pager.pages(
            self, "runningrooms", resume=resume, method="POST"
        ):
            page.items = [
                RunningRoom.parse(r) for r in page.items if isinstance(r, dict)
            ]
            yield page

    def create_room(
        self,
        starturl: str | None = None,
        *,
        title: str | None = None,
        bookmarks: Iterable[dict] | None = None,
        cookies: Iterable[dict] | None = None,
        storage: Iterable[dict] | None = None,
        disabled_features: Iterable[str] | None = None,
    ) -> CreatedRoom:
        """POST create: a room to use now, with its leader and invitee links.

        `bookmarks` [{name, link}] replace the default ones; `cookies` [{domain,
        path, name, value, secure, httponly}] and `storage` [{domain, name,
        value}] go in as the room's `session`; `disabled_features` from FEATURES."""
        return CreatedRoom.parse(
            self.call(
                "create",
                self._room_body(
                    starturl, title, bookmarks, cookies, storage, disabled_features
                ),
            )
        )

    def create_scheduled_room(
        self,
        event_time: datetime,
        *,
        timezone: str | None = None,
        length_minutes: int | None = None,
        invitees: Iterable[str] | str | None = None,
        invite_message: str | None = None,
        starturl: str | None = None,
        title: str | None = None,
        bookmarks: Iterable[dict] | None = None,
        cookies: Iterable[dict] | None = None,
        storage: Iterable[dict] | None = None,
        disabled_features: Iterable[str] | None = None,
    ) -> CreatedRoom:
        """POST create with an `eventtime`: a room scheduled for later.

        `event_time` is sent as wall time in the IANA `timezone` (or UTC with a
        Z); `invitees` are e-mailed an invitation carrying `invite_message`."""
        if invitees is not None and not isinstance(invitees, str):
            invitees = ",".join(i.strip() for i in invitees if i.strip())
        body = self._room_body(
            starturl, title, bookmarks, cookies, storage, disabled_features
        )
        body.update(
            eventtime=_wall_time(event_time, timezone),
            timezone=timezone or None,
            lengthinminutes=length_minutes,
            invitees=invitees or None,
            invitemessage=invite_message or None,
        )
        return CreatedRoom.parse(self.call("create", body))

    @staticmethod
    def _room_body(starturl, title, bookmarks, cookies, storage, features) -> dict:
        session = {}
        if cookies:
            session["cookies"] = [
                {
                    "domain": str(c["domain"]),
                    "path": str(c.get("path") or "/"),
                    "name": str(c["name"]),
                    "value": str(c["value"]),
                    "secure": bool(c.get("secure")),
                    "httponly": bool(c.get("httponly")),
                }
                for c in cookies
            ]
        if storage:
            session["storage"] = [
                {
                    "domain": str(s["domain"]),
                    "name": str(s["name"]),
                    "value": str(s["value"]),
                }
                for s in storage
            ]
        return {
            "starturl": starturl or None,
            "title": title or None,
            "bookmarks": _bookmarks(bookmarks),
            "session": session or None,
            "disabledfeatures": list(features) if features else None,
        }

    def find_room(self, room: str) -> CreatedRoom:
        """POST find: a room's tokens and public invitation."""
        return CreatedRoom.parse(self.call("find", {"room": str(room)}))

    # --- limited-use tokens ---------------------------------------------------------
    def create_limited_use_token(
        self,
        room: str,
        usage_limit: int,
        is_leader: bool,
        users_name: str | None = None,
    ) -> LimitedUseToken:
        """POST createlimitedusetoken: an invitation usable `usage_limit` times;
        `is_leader` makes its first user the leader; `users_name` names them."""
        body = {
            "room": str(room),
            "usagelimit": int(usage_limit),
            "isleader": bool(is_leader),
            "usersname": users_name or None,
        }
        return LimitedUseToken.parse(self.call("createlimitedusetoken", body))

    def delete_limited_use_token(self, token: str) -> None:
        """POST deletelimitedusetoken."""
        self.call("deletelimitedusetoken", {"token": str(token)})

    # --- screen recordings ----------------------------------------------------------
    def _recording_link(self, method: str, room, recording, valid_for, **size) -> str:
        body = {
            "room": str(room),
            "recording": recording,
            "validfor": valid_for,
            **size,
        }
        # Only an http(s) link is returned; anything else (the docs' example
        # says "temp_url_to_video") is "" and shown as "no link".
        return safe_url(self.call(method, body).get("link"))

    def recording_public_link(
        self, room: str, recording: int | None = None, valid_for: int | None = None
    ) -> str:
        """POST screenrecordingpubliclink: a temporary link to recording number
        `recording` (default 0) of `room`, valid `valid_for` minutes (default 60)."""
        return self._recording_link(
            "screenrecordingpubliclink", room, recording, valid_for
        )

    def recording_thumbnail(
        self, room: str, recording: int | None = None, valid_for: int | None = None
    ) -> str:
        """POST screenrecordingthumbnail: a temporary link to a recording's
        thumbnail."""
        return self._recording_link(
            "screenrecordingthumbnail", room, recording, valid_for
        )

    def recording_image(
        self,
        room: str,
        recording: int | None = None,
        valid_for: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> str:
        """POST screenrecordingimage: a temporary link to a recording's full size
        screenshot, or `width` x `height` (height follows a lone width)."""
        return self._recording_link(
            "screenrecordingimage",
            room,
            recording,
            valid_for,
            width=width,
            height=height,
        )

    # --- analytics ------------------------------------------------------------------
    def analytics_overview(self) -> AnalyticsOverview:
        """POST analyticsoverview (no parameters, no body)."""
        return AnalyticsOverview.parse(self.call("analyticsoverview"))

    def analytics_rooms(
        self,
        start: datetime | date | None = None,
        end: datetime | date | None = None,
        timezone: str | None = None,
        resume: dict | None = None,
    ) -> Iterator[Page]:
        """POST analyticsrooms page by page (`skip` + `take`, `total_rooms`),
        rooms from `start_date` to `end_date` (wall times in `timezone`, UTC
        without one); each page's cursor resumes after it; items are AnalyticsRoom."""
        params = _drop_none(
            {
                "start_date": _wall_time(start, timezone) if start else None,
                "end_date": _wall_time(end, timezone) if end else None,
                "timezone": timezone or None,
            }
        )
        for page in self.analytics_pager.pages(
            self, "analyticsrooms", params, resume=resume, method="POST"
        ):
            page.items = [
                AnalyticsRoom.parse(r) for r in page.items if isinstance(r, dict)
            ]
            yield page

    def room_analytics(self, room: str, version: int | None = None) -> RoomAnalytics:
        """POST roomanalytics: one room's events and users (`version` tells apart
        uses of the same room number; default 0)."""
        return RoomAnalytics.parse(
            self.call("roomanalytics", {"room": str(room), "version": version})
        )

    # --- reseller --------------------------------------------------------------------
    def create_subscription(
        self,
        name: str,
        license_count: int,
        *,
        overrides: dict | Iterable | None = None,
        bookmarks: Iterable[dict] | None = None,
        disabled_features: Iterable[str] | None = None,
    ) -> None:
        """POST reseller/createsubscription (reseller keys only): a client
        subscription `name` (unique) with `license_count` licences, optional
        configuration overrides (OVERRIDE_KEYS), bookmarks and disabled features."""
        body = {
            "name": name,
            "licensecount": int(license_count),
            "configuration_overrides": _overrides(overrides),
            "bookmarks": _bookmarks(bookmarks),
            # The docs' parameter list says `disabledfeatures`, their example
            # `disabled_features`; the example (a real request) is followed.
            "disabled_features": list(disabled_features) if disabled_features else None,
        }
        self.call("reseller/createsubscription", body)

    def delete_subscription(self, name: str) -> None:
        """POST reseller/deletesubscription (reseller keys only)."""
        self.call("reseller/deletesubscription", {"name": name})

    def create_api_key(self, subscription: str) -> ApiKey:
        """POST reseller/createapikey: a new key and secret for a subscription
        (reseller keys only). The secret is only ever in this answer."""
        key = ApiKey.parse(
            self.call("reseller/createapikey", {"subscription": subscription})
        )
        if not key.api_key or not key.api_secret:
            raise errors.MalformedResponse("samesurf createapikey: no key or secret")
        return key
