"""The inbound webhook endpoint: /hooks/<account id>/<token>/.

Deliveries are answered by `core.hooks_middleware.WebhookIntakeMiddleware`
before the page middleware runs (they need no session, user, CSRF token,
workspace or CSP); this view is the same answer for a stack without it, and
the URL pattern that names the route.
"""

from __future__ import annotations

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
    if status == 404:
        return _json(404, {"error": message})
    return _json(status, {"status": message})


def _json(status: int, data: dict) -> HttpResponse:
    body = orjson.dumps(data)
    headers = {**HEADERS, "Content-Length": str(len(body))}
    return HttpResponse(
        body, content_type="application/json", status=status, headers=headers
    )


@csrf_exempt
@require_POST
def receive(request, account_id: int, token: str):
    return answer(account_id, token, request)
