"""Webhooks: list (paged, with `count`), create (201), get, update, delete (204).

One `category` (event name) per webhook, as Surfly's schema has it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import HttpRequest, HttpResponse

from ..api import invalid, not_found, read_json, respond, surfly_api
from ..bodies import WEBHOOK
from ..models import Company, Webhook
from ..paging import links, window
from ..records import webhook_payload

PAGE_SIZE = 100
_url_ok = URLValidator(schemes=["http", "https"])


def _webhook(company: Company, webhook_id: str) -> Webhook:
    hook = None
    if webhook_id.isdigit():
        hook = Webhook.objects.filter(company=company, pk=int(webhook_id)).first()
    if hook is None:
        raise not_found()
    return hook


def _fields(request: HttpRequest) -> dict:
    """The whole webhook (all four fields are required, on update too)."""
    errors: dict[str, list[str]] = {}
    data = WEBHOOK.check(read_json(request), errors)
    try:
        if "url" in data:
            _url_ok(data["url"])
    except ValidationError:
        errors["url"] = ["Enter a valid URL."]
    if errors:
        raise invalid(errors)
    return data


@surfly_api()
def list_webhooks(request: HttpRequest, company: Company) -> HttpResponse:
    """GET /webhooks/ (Webhooks_listAll): `{count, next, previous, results}`."""
    hooks = Webhook.objects.filter(company=company)
    w = window(request, PAGE_SIZE)
    count = hooks.count()
    page = list(hooks[w.offset : w.stop])
    if not page and w.page and w.page > 1:
        raise not_found("Invalid page.")
    nxt, prev = links(request, w, count > w.stop)
    return respond(
        {
            "count": count,
            "next": nxt,
            "previous": prev,
            "results": [webhook_payload(h) for h in page],
        }
    )


@surfly_api()
def create_webhook(request: HttpRequest, company: Company) -> HttpResponse:
    """POST /webhooks/ (Webhooks_createWebhook): 201 with the webhook."""
    hook = Webhook.objects.create(company=company, **_fields(request))
    return respond(webhook_payload(hook), 201)


@surfly_api()
def get_webhook(
    request: HttpRequest, company: Company, webhook_id: str
) -> HttpResponse:
    """GET /webhooks/{WEBHOOK_ID}/ (Webhooks_getWebhookInformation)."""
    return respond(webhook_payload(_webhook(company, webhook_id)))


@surfly_api()
def update_webhook(
    request: HttpRequest, company: Company, webhook_id: str
) -> HttpResponse:
    """PUT /webhooks/{WEBHOOK_ID}/ (Webhooks_updateWebhook): same body as create,
    every field required."""
    hook = _webhook(company, webhook_id)
    for name, value in _fields(request).items():
        setattr(hook, name, value)
    hook.save()
    return respond(webhook_payload(hook))


@surfly_api()
def delete_webhook(
    request: HttpRequest, company: Company, webhook_id: str
) -> HttpResponse:
    """DELETE /webhooks/{WEBHOOK_ID}/ (Webhooks_removeWebhook): 204, no body."""
    _webhook(company, webhook_id).delete()
    return HttpResponse(status=204)
