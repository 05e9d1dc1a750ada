"""The one decorator every sandbox view goes through, and the error answers.

Order on every request, as a real deployment would apply it: the documented
100 requests/minute per client address, then the API key, then the sandbox
account's fault profile, then the view.

Error bodies: Surfly documents exactly one, the access-token 404
`{"errors": {"agent_id": ["Agent was not found"]}}`. Every other 4xx body is
undocumented, so this sandbox answers as Django REST Framework (which the
documented body resembles): `{"detail": "..."}` for 401/403/404/405/429 and
`{"errors": {field: [message]}}` with 400 for every refused request body or
query (the per-operation request schemas are in `bodies.py`).
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

from .models import Company

VENDOR = "surfly"
INVALID_KEY = "Invalid API key."
NOT_RESELLER = "You do not have permission to perform this action."


def dumps(data: Any) -> str:
    """Compact JSON, as DRF renders it."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def respond(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(data), status=status, content_type="application/json")


def raw_json(text: str, status: int = 200) -> HttpResponse:
    """An already serialised JSON body (history pages)."""
    return HttpResponse(text, status=status, content_type="application/json")


class ApiError(Exception):
    """Raise anywhere in a view to answer `body` with `status`."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(status)
        self.status, self.body = status, body

    def response(self) -> HttpResponse:
        return respond(self.body, self.status)


def not_found(detail: str = "Not found.") -> ApiError:
    return ApiError(404, {"detail": detail})


def invalid(errors: dict[str, list[str]]) -> ApiError:
    return ApiError(400, {"errors": errors})


def throttled(wait: float) -> HttpResponse:
    """DRF's throttle answer, with the Retry-After header Surfly leaves undocumented."""
    seconds = max(1, math.ceil(wait))
    unit = "second" if seconds == 1 else "seconds"
    response = respond(
        {"detail": f"Request was throttled. Expected available in {seconds} {unit}."},
        429,
    )
    response["Retry-After"] = str(seconds)
    return response


def read_json(request: HttpRequest) -> dict:
    """The request body as an object ({} when empty); 400 when unreadable."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, {"detail": f"JSON parse error - {exc}"}) from None
    if not isinstance(body, dict):
        raise invalid({"non_field_errors": ["Invalid data. Expected a dictionary."]})
    return body


View = Callable[..., HttpResponse]


def surfly_api(*, auth: bool = True, reseller: bool = False) -> Callable[[View], View]:
    """Guard a view: rate limit → API key → fault injection → view.

    The view is called as `view(request, company, **kwargs)`; `company` is the
    key's company (None only for `auth=False` views called without a valid
    key). `reseller=True` answers 403 to keys of non-reseller companies.
    An `ApiError` raised by the view becomes its answer.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, **kwargs) -> HttpResponse:
            wait = over_rate_limit(VENDOR, request)
            if wait is not None:
                return throttled(wait)
            api_key = request.GET.get("api_key", "")
            company = (
                Company.objects.filter(api_key=api_key).first() if api_key else None
            )
            if company is None and auth:
                return respond({"detail": INVALID_KEY}, 401)
            if reseller and not company.is_reseller:
                return respond({"detail": NOT_RESELLER}, 403)
            if api_key:
                fault = inject(VENDOR, api_key, throttled=throttled)
                if fault is not None:
                    return fault
            try:
                return view(request, company, **kwargs)
            except ApiError as exc:
                return exc.response()

        return guarded

    return decorate


def route(*, auth: bool = True, reseller: bool = False, **handlers: View) -> View:
    """One URL, one handler per HTTP method (each already `@surfly_api`-guarded).

    A method without a handler still goes through the guard, then gets DRF's 405.
    """
    allowed = ", ".join(sorted(handlers))

    @surfly_api(auth=auth, reseller=reseller)
    def not_allowed(request: HttpRequest, company, **kwargs) -> HttpResponse:
        response = respond({"detail": f'Method "{request.method}" not allowed.'}, 405)
        response["Allow"] = allowed
        return response

    @csrf_exempt
    def dispatch(request: HttpRequest, **kwargs) -> HttpResponse:
        return handlers.get(request.method, not_allowed)(request, **kwargs)

    return dispatch


# --- request bodies: declared per operation in bodies.py ----------------------------
REQUIRED = "This field is required."
