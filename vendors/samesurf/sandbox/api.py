"""The one guard every SameSurf sandbox operation goes through, and its answers.

Order on every request: the sandbox's rate limit per client address
(`SANDBOX_RATE_LIMIT`; SameSurf documents none), POST only, the JWT, the
account's fault profile, then the operation.

Answers follow the docs: success is `{..., "success": true}` and a refusal is
`{"success": false, "error": <text>, "errorcode": <n>}` with **HTTP 200**, as
every documented example answers 200 (vendor-apis.md §2.2 leaves other
statuses open). Only what is not SameSurf's own refusal uses another status: the
rate limit (429 with Retry-After) and injected platform faults (5xx, timeouts,
malformed JSON).

JWT rules (the docs are silent on lifetime and skew; this is the lenient
choice, see README "SameSurf"): `Authorization: Bearer <JWT>`; the payload must
carry `sub` (a known API key) and a numeric `iat`; it must verify HS256 with
that key's secret, or be unsigned (`alg: none`) only for a key with
`allow_none`. An `iat` more than 5 minutes in the future is refused; there is
no maximum age (a 2018 integrator served one pre-built token from a static
file), but an `exp`, if the token carries one, is honoured. Any failure:
errorcode 101.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any

import jwt
import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from jwt.warnings import InsecureKeyLengthWarning

from cobrowse_portal.vendorkit.sandbox.faults import inject, over_rate_limit

from .models import ApiKey, Subscription

VENDOR = "samesurf"
#: How far in the future an `iat` may be (clock skew).
IAT_SKEW_SECONDS = 300

#: SameSurf's own words per errorcode (vendor-apis.md §2.3).
MESSAGES = {
    100: "Unknown error",
    101: "Invalid JWT token",
    102: "Invalid room name",
    103: "Room has already been used",
    104: "Invalid email addresses",
    105: "starturl must be specified",
    106: "timezone must be specified (IANA time zone name)",
    107: "timezone must be a valid IANA time zone name",
    108: "Bad time format, use ISO 8601 e.g. 2016-10-30T12:00:00",
    109: "Screen recording not found",
    111: "Failed to create image",
    112: "Invalid token",
    113: "Webhook event not found",
    114: "Subscription already exists",
    115: "Name was not specified",
    116: "This call is only allowed for a reseller subscription",
    117: "Incorrect reseller subscription",
    118: "Subscription not found",
    119: "API key not found",
    120: "Can't delete the last API key, pass force = true to force it",
    121: "Failed to create subscription",
    122: "Event time must be in the future",
    123: "Length must be greater or equal to 1",
    124: "License count must be greater than 0",
    125: "Usage limit must be greater or equal to 1",
}


class Refusal(Exception):
    """Raise anywhere in an operation to answer SameSurf's error envelope."""

    def __init__(self, code: int, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = MESSAGES.get(code, "Unknown error")
        if detail:
            self.text = f"{self.text}: {detail}"

    def response(self) -> HttpResponse:
        return envelope_error(self.code, self.text)


def respond(data: dict, status: int = 200) -> HttpResponse:
    # Compact UTF-8 JSON (what json.dumps with those options writes), by orjson.
    return HttpResponse(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def ok(**data: Any) -> HttpResponse:
    return respond({**data, "success": True})


def envelope_error(code: int, text: str, status: int = 200) -> HttpResponse:
    return respond({"success": False, "error": text, "errorcode": code}, status)


def throttled(wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    response = envelope_error(100, f"Too many requests; retry in {seconds} s", 429)
    response["Retry-After"] = str(seconds)
    return response


def read_body(request: HttpRequest) -> dict:
    """The JSON body as an object; an empty body is {} (analyticsoverview is
    documented with Content-Length: 0)."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(100, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Refusal(100, "the body must be a JSON object")
    return body


def authenticate(request: HttpRequest) -> ApiKey:
    """The API key whose JWT signed this request, or Refusal(101)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refusal(101, "no bearer token")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise Refusal(101, "not a JWT") from None
    sub, iat = claims.get("sub"), claims.get("iat")
    if not isinstance(sub, str) or not sub:
        raise Refusal(101, "no sub")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise Refusal(101, "no iat")
    key = ApiKey.objects.select_related("subscription").filter(key=sub).first()
    if key is None:
        raise Refusal(101, "unknown API key")
    if header.get("alg") == "none":
        if not key.allow_none:
            raise Refusal(101, "unsigned tokens are not enabled for this key")
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InsecureKeyLengthWarning)
                jwt.decode(
                    token,
                    key.secret,
                    algorithms=["HS256"],
                    # iat is checked below with our own skew; exp if present.
                    options={"verify_iat": False},
                )
        except jwt.InvalidTokenError:
            raise Refusal(101, "bad signature") from None
    now = time.time()
    if iat > now + IAT_SKEW_SECONDS:
        raise Refusal(101, "iat is in the future")
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp < now:
        raise Refusal(101, "the token has expired")
    return key


Operation = Callable[[HttpRequest, Subscription, dict], HttpResponse]


def operation(*, reseller: bool = False) -> Callable[[Operation], Any]:
    """Guard an operation: rate limit → POST → JWT → faults → operation.

    The operation is called as `op(request, subscription, body)`;
    `reseller=True` refuses keys of non-reseller subscriptions (116)."""

    def decorate(op: Operation):
        @csrf_exempt
        @wraps(op)
        def guarded(request: HttpRequest, **kwargs) -> HttpResponse:
            wait = over_rate_limit(VENDOR, request)
            if wait is not None:
                return throttled(wait)
            try:
                if request.method != "POST":
                    response = envelope_error(
                        100, "Every API v3 call is a POST", status=405
                    )
                    response["Allow"] = "POST"
                    return response
                key = authenticate(request)
                fault = inject(VENDOR, key.key, throttled=throttled)
                if fault is not None:
                    return fault
                if reseller and not key.subscription.is_reseller:
                    raise Refusal(116)
                return op(request, key.subscription, read_body(request), **kwargs)
            except Refusal as exc:
                return exc.response()

        return guarded

    return decorate
