"""The one guard every Smartsupp sandbox operation goes through, and its answers.

Order on every request: the sandbox's rate limit per client address
(`SANDBOX_RATE_LIMIT`; Smartsupp documents none for this API), the method
(only GET and POST exist; a path answers the one the PHP wrapper uses, others
405), the `apiKey` header, the key's fault profile, then the operation.

Answers follow the guide: JSON objects, or no content; errors are
`{"error": <type>, "message": …}` with a 4xx status, plus `hint` naming the
offending field (as the partner API does, vendor-apis.md §5.3). The guide names
only `AuthError`; `InvalidParam`, `EmailExists` (the partner API's names),
`NotFound`, `MethodNotAllowed`, `InvalidJson` and `RateLimited` are the
sandbox's choice, and a client must not depend on them.

The key is accepted from the header only. Smartsupp also takes it as a query
parameter; the sandbox refuses that form (401) so that no portal code can come
to rely on a key in a URL, where logs would keep it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from cobrowse_portal.vendorkit.sandbox.faults import inject, over_rate_limit

from .models import ApiKey

VENDOR = "smartsupp"


class Refusal(Exception):
    """Raise anywhere in an operation to answer Smartsupp's error body."""

    def __init__(
        self, status: int, code: str, message: str, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint

    def response(self) -> HttpResponse:
        return error(self.status, self.code, self.message, self.hint)


def invalid(hint: str, message: str) -> Refusal:
    """400 InvalidParam naming the field."""
    return Refusal(400, "InvalidParam", message, hint)


def not_found(what: str) -> Refusal:
    return Refusal(404, "NotFound", f"{what} not found.")


def respond(data: Any, status: int = 200) -> HttpResponse:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return HttpResponse(text, status=status, content_type="application/json")


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def error(
    status: int, code: str, message: str, hint: str | None = None
) -> HttpResponse:
    body = {"error": code, "message": message}
    if hint:
        body["hint"] = hint
    return respond(body, status)


def throttled(wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    response = error(429, "RateLimited", "Too many requests, slow down.")
    response["Retry-After"] = str(seconds)
    return response


def read_body(request: HttpRequest) -> dict:
    """The JSON body as an object (creates and updates always send one)."""
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "InvalidJson", "The body is not JSON.") from None
    if not isinstance(body, dict):
        raise Refusal(400, "InvalidJson", "The body is not a JSON object.")
    return body


def authenticate(request: HttpRequest) -> ApiKey:
    key = request.headers.get("apiKey", "").strip()
    if not key:
        if request.GET.get("apiKey"):
            raise Refusal(
                401,
                "AuthError",
                "Send the apiKey in the request header (the sandbox refuses it "
                "in the query string).",
            )
        raise Refusal(401, "AuthError", "No apiKey header.")
    owner = ApiKey.objects.filter(key=key).first()
    if owner is None:
        # Smartsupp's own message repeats the key; the sandbox does not, so a
        # test log never holds one.
        raise Refusal(401, "AuthError", "No account found for this apiKey.")
    return owner


Operation = Callable[..., HttpResponse]


def route(**ops: Operation) -> Any:
    """One URL, one operation per method (GET=… or POST=…), guarded: rate
    limit → method → key → faults → operation(request, owner, **url kwargs)."""

    @csrf_exempt
    def guarded(request: HttpRequest, **kwargs) -> HttpResponse:
        wait = over_rate_limit(VENDOR, request)
        if wait is not None:
            return throttled(wait)
        op = ops.get(request.method or "")
        if op is None:
            response = error(
                405, "MethodNotAllowed", f"Use {' or '.join(ops)} for this path."
            )
            response["Allow"] = ", ".join(ops)
            return response
        try:
            owner = authenticate(request)
            fault = inject(VENDOR, owner.key, throttled=throttled)
            if fault is not None:
                return fault
            return op(request, owner, **kwargs)
        except Refusal as exc:
            return exc.response()

    return wraps(next(iter(ops.values())))(guarded)
