"""The inbound webhook endpoint: /hooks/<account id>/<token>/.

Deliveries are answered by `core.hooks_middleware.WebhookIntakeMiddleware`
before the page middleware runs (they need no session, user, CSRF token,
workspace or CSP); this view is the same answer for a stack without it, and
the URL pattern that names the route.
"""

from __future__ import annotations

import functools

import orjson
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cobrowse_portal.vendorkit import webhooks

#: A JSON answer is never a page: nothing in it may run, load or be framed.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}


def answer(account_id: int, token: str, request) -> HttpResponse:
    """Check the token, then validate and store the delivery (its body is read
    only once the token matched)."""
    status, message = webhooks.intake(account_id, token, lambda: request.body)
    body, headers = _encoded(status, message)
    return HttpResponse(
        body, content_type="application/json", status=status, headers=headers
    )


@functools.lru_cache(maxsize=256)
def _encoded(status: int, message: str) -> tuple[bytes, dict[str, str]]:
    """The JSON body and headers of an answer, encoded once per distinct answer
    (a few: accepted, duplicate, unknown type, the refusals' reasons)."""
    body = orjson.dumps({"error" if status == 404 else "status": message})
    return body, {**HEADERS, "Content-Length": str(len(body))}


@csrf_exempt
@require_POST
def receive(request, account_id: int, token: str):
    return answer(account_id, token, request)
