"""Company default session options, and the public server list."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..api import invalid, read_json, respond, surfly_api
from ..models import Company
from ..options import DEFAULT_OPTIONS, clean_options, complete
from ..records import SERVERS


def _checked(request: HttpRequest) -> dict:
    options, errors = clean_options(read_json(request), strict=True)
    if errors:
        raise invalid(errors)
    return options


def _save(company: Company, options: dict) -> HttpResponse:
    company.options = complete(options)
    company.save(update_fields=["options"])
    return respond(company.options)


@surfly_api()
def get_options(request: HttpRequest, company: Company) -> HttpResponse:
    """GET /company/options/ (Company_getDefaultOptions)."""
    return respond(complete(company.options))


@surfly_api()
def replace_options(request: HttpRequest, company: Company) -> HttpResponse:
    """POST /company/options/ (Company_postOptions): sets the defaults; **an
    option missing from the body is reset to its default** (Surfly's own
    warning; PATCH changes only what is sent)."""
    return _save(company, _checked(request))


@surfly_api()
def update_options(request: HttpRequest, company: Company) -> HttpResponse:
    """PATCH /company/options/ (Company_updateDefaultOptions)."""
    return _save(company, {**complete(company.options), **_checked(request)})


@surfly_api()
def reset_options(request: HttpRequest, company: Company) -> HttpResponse:
    """DELETE /company/options/ (Company_resetDefaultOptions): every option back
    to its default; the spec documents an empty 200."""
    company.options = dict(DEFAULT_OPTIONS)
    company.save(update_fields=["options"])
    return HttpResponse(status=200)


@surfly_api(auth=False)
def list_servers(request: HttpRequest, company: Company | None) -> HttpResponse:
    """GET /servers (Servers_listAvailable): the one path without a trailing
    slash, and the one the spec lists without `api_key`."""
    return respond(SERVERS)
