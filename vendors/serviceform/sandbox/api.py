"""The one guard every Serviceform sandbox operation goes through, and its answers.

Order on every request: the sandbox's rate limit per client address
(`SANDBOX_RATE_LIMIT`; Serviceform documents none), the method (405 with
`Allow`), the `sf-api-key` header (missing or unknown: 403, or 401 on /leads
as its section of the docs says), the account's fault profile, then the
operation.

Error bodies are undocumented (vendor-apis.md §4.6); the sandbox's choice
(README "Serviceform") is `{"statusCode": <status>, "message": <text>}`, plus
`"errors": {<field machine>: [<text>, …]}` on a 400/422 about item values. A
client must read them leniently, not depend on this shape.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from cobrowse_portal.vendorkit.sandbox.faults import inject, over_rate_limit

from .models import Account

VENDOR = "serviceform"


class Refusal(Exception):
    """Raise anywhere in an operation to answer an error body."""

    def __init__(
        self, status: int, message: str, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors

    def response(self) -> HttpResponse:
        return error(self.status, self.message, self.errors)


def respond(data: Any, status: int = 200) -> HttpResponse:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return HttpResponse(text, status=status, content_type="application/json")


def respond_fast(data: Any, status: int = 200) -> HttpResponse:
    """`respond` through orjson (the same compact UTF-8 JSON, several times
    faster on large answers); what orjson refuses (a number too large for 64
    bits, a key that is not text) goes the way `respond` does."""
    try:
        text = orjson.dumps(data)
    except (orjson.JSONEncodeError, TypeError):
        return respond(data, status)
    return HttpResponse(text, status=status, content_type="application/json")


def error(
    status: int, message: str, errors: dict[str, list[str]] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {"statusCode": status, "message": message}
    if errors:
        body["errors"] = errors
    return respond(body, status)


def throttled(wait: float) -> HttpResponse:
    response = error(429, "Too many requests")
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def read_body(request: HttpRequest) -> dict:
    """The JSON body as an object (an empty body is {}; anything else is 400)."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "The body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Refusal(400, "The body must be a JSON object")
    return body


def authenticate(request: HttpRequest, *, status: int = 403) -> Account:
    key = request.headers.get("sf-api-key", "").strip()
    account = Account.objects.filter(api_key=key).first() if key else None
    if account is None:
        raise Refusal(status, "Invalid API key" if key else "Missing sf-api-key")
    return account


Operation = Callable[..., HttpResponse]


def route(*, auth_status: int = 403, **ops: Operation) -> Any:
    """One URL, one operation per method (GET=…, POST=…, PUT=…, DELETE=…),
    guarded: rate limit → method → key → faults → operation(request, account,
    **url kwargs)."""

    @csrf_exempt
    def guarded(request: HttpRequest, **kwargs) -> HttpResponse:
        wait = over_rate_limit(VENDOR, request)
        if wait is not None:
            return throttled(wait)
        op = ops.get(request.method or "")
        if op is None:
            response = error(405, "Method not allowed")
            response["Allow"] = ", ".join(ops)
            return response
        try:
            account = authenticate(request, status=auth_status)
            fault = inject(VENDOR, account.api_key, throttled=throttled)
            if fault is not None:
                return fault
            return op(request, account, **kwargs)
        except Refusal as exc:
            return exc.response()

    return wraps(next(iter(ops.values())))(guarded)
