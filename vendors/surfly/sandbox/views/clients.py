"""Reseller clients under the literal `/clients/all/` (the `RESELLER_KEY`
placeholder was replaced by `all` in 2018). Reseller keys only: any other key
gets 403."""

from __future__ import annotations

import random

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from ..api import not_found, respond, surfly_api
from ..bodies import CLIENT_CREATE, CLIENT_DOMAINS, CLIENT_UPDATE
from ..models import Agent, Company
from ..options import DEFAULT_OPTIONS
from ..records import client_payload, hex_key, token

_rng = random.SystemRandom()
# The spec's request schema names this default plan.
DEFAULT_PLAN = "client_enterprise"
DEFAULT_AGENT_LIMIT = 10


def _client(reseller: Company, client_key: str) -> Company:
    client = Company.objects.filter(reseller=reseller, client_key=client_key).first()
    if client is None:
        raise not_found()
    return client


def _domains(value: str) -> str:
    """Comma-separated, normalised to Surfly's ", " separator."""
    return ", ".join(d.strip() for d in value.split(",") if d.strip())


@surfly_api(reseller=True)
def list_clients(request: HttpRequest, company: Company) -> HttpResponse:
    """GET /clients/all/ (Clients_getAll)."""
    return respond([client_payload(c) for c in company.clients.order_by("pk")])


@surfly_api(reseller=True)
def create_client(request: HttpRequest, company: Company) -> HttpResponse:
    """POST /clients/all/ (Clients_addNewClient): answers 200 with the new
    client's `client_key`, `rest_key` (a working API key) and `widget_key`.
    With `agent_email` the client also gets its first (admin) agent."""
    data = CLIENT_CREATE.read(request)
    name, domains = data["company_name"], data.get("domains")
    plan = data.get("company_plan_name") or DEFAULT_PLAN
    agent_email, agent_name = data.get("agent_email"), data.get("agent_name")
    agent_password = data.get("agent_password")
    with transaction.atomic(using=ALIAS):
        client = Company.objects.create(
            api_key=hex_key(_rng),
            name=name,
            plan=plan,
            reseller=company,
            client_key=token(_rng, 23),
            widget_key=hex_key(_rng),
            domains=_domains(domains or "*") or "*",
            agent_limit=DEFAULT_AGENT_LIMIT,
            options=dict(DEFAULT_OPTIONS),
            created_at=timezone.now(),
        )
        if agent_email:
            Agent.objects.create(
                company=client,
                name=agent_name or agent_email.split("@")[0],
                email=agent_email,
                password=agent_password or "",
                role="admin",
                last_login=timezone.now(),
            )
    return respond(
        {
            "company_name": client.name,
            "client_key": client.client_key,
            "rest_key": client.api_key,
            "widget_key": client.widget_key,
        }
    )


@surfly_api(reseller=True)
def get_client(request: HttpRequest, company: Company, client_key: str) -> HttpResponse:
    """GET /clients/all/{CLIENT_KEY}/ (Clients_infoById)."""
    return respond(client_payload(_client(company, client_key)))


@surfly_api(reseller=True)
def set_domains(
    request: HttpRequest, company: Company, client_key: str
) -> HttpResponse:
    """POST /clients/all/{CLIENT_KEY}/ (Clients_setDomainList): `domains` is a
    comma-separated string; `*` allows any domain."""
    client = _client(company, client_key)
    client.domains = _domains(CLIENT_DOMAINS.read(request)["domains"])
    client.save(update_fields=["domains"])
    return respond({"domains": client.domains})


@surfly_api(reseller=True)
def update_client(
    request: HttpRequest, company: Company, client_key: str
) -> HttpResponse:
    """PUT /clients/all/{CLIENT_KEY}/ (Clients_updateClient): renames it. Its
    schema is the create one, so a plan or domains sent along are applied too."""
    client = _client(company, client_key)
    data = CLIENT_UPDATE.read(request)
    client.name = data["company_name"]
    client.plan = data.get("company_plan_name") or client.plan
    if "domains" in data:
        client.domains = _domains(data["domains"]) or client.domains
    client.save(update_fields=["name", "plan", "domains"])
    return respond(
        {
            "agent_count": client.agent_limit,
            "company_name": client.name,
            "client_key": client.client_key,
        }
    )


@surfly_api(reseller=True)
def delete_client(
    request: HttpRequest, company: Company, client_key: str
) -> HttpResponse:
    """DELETE /clients/all/{CLIENT_KEY}/ (Clients_deleteClient): the client's
    agents, sessions and webhooks go with it, and its REST key stops working."""
    _client(company, client_key).delete()
    # Capital S as in the spec's example.
    return respond({"response": "Client has been removed Successfully"})
