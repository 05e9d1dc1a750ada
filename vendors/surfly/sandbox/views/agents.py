"""Agents: list, create, get, update, delete, and the Embed API access token."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from ..api import ApiError, invalid, not_found, read_json, respond, surfly_api
from ..bodies import (
    ACCESS_TOKEN_BY_EMAIL,
    ACCESS_TOKEN_BY_ID,
    AGENT_CREATE,
    AGENT_UPDATE,
)
from ..models import Agent, Company
from ..params import flag
from ..records import agent_payload

TOKEN_LIFETIME = timedelta(hours=24)
# Without force_new Surfly hands back the current token unless it expires sooner.
TOKEN_REUSE_MARGIN = timedelta(minutes=5)


def _agent(company: Company, agent_id: str) -> Agent:
    agent = None
    if agent_id.isdigit():
        agent = Agent.objects.filter(company=company, pk=int(agent_id)).first()
    if agent is None:
        raise not_found()
    return agent


@surfly_api()
def list_agents(request: HttpRequest, company: Company) -> HttpResponse:
    """GET /agents/ (Agents_getList). `free=true`: agents ready to take a call,
    i.e. marked available and online right now."""
    agents = Agent.objects.filter(company=company)
    if flag(request, "free"):
        agents = agents.filter(available=True, online=True)
    return respond([agent_payload(a) for a in agents])


@surfly_api()
def create_agent(request: HttpRequest, company: Company) -> HttpResponse:
    """POST /agents/ (Agents_registerNewAgent). Answers 200 with the new id as a
    *string* (`{"agent_id": "1"}`), unlike everywhere else."""
    data = AGENT_CREATE.read(request)
    username, email = data["username"], data["agent_email"]
    password, role = data["password"], data.get("role", "agent")
    try:
        with transaction.atomic(using=ALIAS):
            agent = Agent.objects.create(
                company=company,
                name=username,
                email=email,
                password=password,
                role=role,
                last_login=timezone.now(),
            )
    except IntegrityError:
        raise invalid(
            {"agent_email": ["An agent with this email already exists."]}
        ) from None
    return respond({"agent_id": str(agent.pk)})


@surfly_api()
def get_agent(request: HttpRequest, company: Company, agent_id: str) -> HttpResponse:
    """GET /agents/{AGENT_ID}/ (Agents_getById)."""
    return respond(agent_payload(_agent(company, agent_id)))


@surfly_api()
def update_agent(request: HttpRequest, company: Company, agent_id: str) -> HttpResponse:
    """PUT /agents/{AGENT_ID}/ (Agents_updateAgent): `username` and `available`
    are required, `role` optional."""
    agent = _agent(company, agent_id)
    data = AGENT_UPDATE.read(request)
    agent.name, agent.available = data["username"], data["available"]
    agent.role = data.get("role", agent.role)
    agent.save(update_fields=["name", "available", "role"])
    return respond(
        {
            "agent_name": agent.name,
            "agent_id": agent.pk,
            "agent_email": agent.email,
            "role": agent.role,
            "available": agent.available,
        }
    )


@surfly_api()
def delete_agent(request: HttpRequest, company: Company, agent_id: str) -> HttpResponse:
    """DELETE /agents/{AGENT_ID}/ (Agents_removeAgent)."""
    _agent(company, agent_id).delete()
    return respond({"response": "Agent has been removed successfully"})


def _token_owner(company: Company, body: dict) -> tuple[Agent, bool, dict]:
    """The agent named by `agent_id`, or by `email` + `name` (created if new)."""
    errors: dict[str, list[str]] = {}
    if body.get("agent_id") is not None:
        data = ACCESS_TOKEN_BY_ID.check(body, errors)
        if errors:
            raise invalid(errors)
        agent = Agent.objects.filter(company=company, pk=data["agent_id"]).first()
        if agent is None:
            # The one error body Surfly documents.
            raise ApiError(404, {"errors": {"agent_id": ["Agent was not found"]}})
        return agent, False, data
    data = ACCESS_TOKEN_BY_EMAIL.check(body, errors)
    if "email" in data and "@" not in data["email"]:
        errors.setdefault("email", []).append("Enter a valid email address.")
    if errors:
        raise invalid(errors)
    agent, created = Agent.objects.get_or_create(
        company=company,
        email=data["email"],
        defaults={
            "name": data["name"],
            "role": data.get("role", "agent"),
            "last_login": timezone.now(),
        },
    )
    return agent, created, data


@surfly_api()
def access_token(request: HttpRequest, company: Company) -> HttpResponse:
    """POST /agents/access-token/ (Agents_generateAccessToken).

    A token lives 24 h and a user has one at a time: without `force_new` the
    current one comes back unless it expires within 5 minutes.
    """
    agent, created, data = _token_owner(company, read_json(request))
    force_new = data.get("force_new", False)
    now = timezone.now()
    current = (
        agent.token
        and agent.token_expires
        and (agent.token_expires - now > TOKEN_REUSE_MARGIN)
    )
    if force_new or not current:
        agent.token = "t" + secrets.token_hex(16)
        agent.token_expires = now + TOKEN_LIFETIME
    # "date and time when user logged in or agent token has been generated"
    agent.last_login = now
    agent.save(update_fields=["token", "token_expires", "last_login"])
    return respond(
        {
            "user_created": created,
            "agent_token": agent.token,
            "expires_in": int((agent.token_expires - now).total_seconds()),
            "agent_id": agent.pk,
            "agent_role": agent.role,
        }
    )
