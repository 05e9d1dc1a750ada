"""The one guard every Upscope sandbox operation goes through, and its answers.

Order on every request: the sandbox's rate limit per client address
(`SANDBOX_RATE_LIMIT`; Upscope documents none), the method, the `X-Api-Key`
header (missing or unknown: 401 `invalid_api_key`; an account in another
documented 401 state answers that code), the account's fault profile, then the
sessions whose time is up are ended (their webhook posts leave after commit),
then the operation.

Answers follow the docs: `{"status": "ok", …}` and `{"status": "error",
"error": <code>}` with the documented statuses (401, 402, 404, 409). The docs
name only the four 401 codes; the other codes here (`visitor_not_found`,
`subscription_limit`, `visitor_online`, 400s such as `agent_id_required` …)
are the sandbox's own choice (README "Upscope"), and a client must not depend
on them.
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

from .models import VENDOR, Account


class Refusal(Exception):
    """Raise anywhere in an operation to answer Upscope's error envelope."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status, self.code = status, code

    def response(self) -> HttpResponse:
        return error(self.status, self.code)


def respond(data: dict, status: int = 200) -> HttpResponse:
    # Compact UTF-8 JSON (what json.dumps with those options writes), by orjson.
    return HttpResponse(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def ok(**data: Any) -> HttpResponse:
    return respond({"status": "ok", **data})


def error(status: int, code: str) -> HttpResponse:
    return respond({"status": "error", "error": code}, status)


def throttled(wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    response = error(429, "rate_limited")
    response["Retry-After"] = str(seconds)
    return response


def read_body(request: HttpRequest) -> dict:
    """The JSON body as an object (an empty body is {})."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "invalid_json") from None
    if not isinstance(body, dict):
        raise Refusal(400, "invalid_json")
    return body


def authenticate(request: HttpRequest) -> Account:
    key = request.headers.get("X-Api-Key", "").strip()
    account = Account.objects.filter(api_key=key).first() if key else None
    if account is None:
        raise Refusal(401, "invalid_api_key")
    if account.state != "ok":
        raise Refusal(401, account.state)
    return account


Operation = Callable[..., HttpResponse]


def route(**ops: Operation) -> Any:
    """One URL, one operation per method (GET=…, POST=…, DELETE=…), guarded:
    rate limit → method → key → faults → end due sessions → operation(request,
    account, **url kwargs)."""
    from .lifecycle import finish_due

    @csrf_exempt
    def guarded(request: HttpRequest, **kwargs) -> HttpResponse:
        wait = over_rate_limit(VENDOR, request)
        if wait is not None:
            return throttled(wait)
        op = ops.get(request.method or "")
        if op is None:
            response = error(405, "method_not_allowed")
            response["Allow"] = ", ".join(ops)
            return response
        try:
            account = authenticate(request)
            fault = inject(VENDOR, account.api_key, throttled=throttled)
            if fault is not None:
                return fault
            finish_due(account)
            return op(request, account, **kwargs)
        except Refusal as exc:
            return exc.response()

    return wraps(next(iter(ops.values())))(guarded)
