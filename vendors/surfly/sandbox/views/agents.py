"""Agents: list, create, get, update, delete, and the Embed API access token."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from ..api import ApiError, Fields, invalid, not_found, read_json, respond, surfly_api
from ..models import Agent, Company
from ..params import flag
from ..records import agent_payload

ROLES = ("admin", "manager", "agent")
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
    f = Fields(read_json(request))
    username = f.text("username")
    email = f.text("agent_email")
    password = f.text("password")
    role = f.choice("role", ROLES, default="agent")
    f.check()
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
    f = Fields(read_json(request))
    username = f.text("username")
    available = f.flag("available", required=True)
    role = f.choice("role", ROLES, default=agent.role)
    f.check()
    agent.name, agent.available, agent.role = username, available, role
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


def _token_owner(company: Company, f: Fields) -> tuple[Agent, bool]:
    """The agent named by `agent_id`, or by `email` (+ `name`, created if new)."""
    if f.body.get("agent_id") not in (None, ""):
        agent_id = f.integer("agent_id")
        f.check()
        agent = Agent.objects.filter(company=company, pk=agent_id).first()
        if agent is None:
            # The one error body Surfly documents.
            raise ApiError(404, {"errors": {"agent_id": ["Agent was not found"]}})
        return agent, False
    email = f.text("email")
    name = f.text("name")
    role = f.choice("role", ROLES, default="agent")
    if not f.errors and email and "@" not in email:
        f.fail("email", "Enter a valid email address.")
    f.check()
    agent, created = Agent.objects.get_or_create(
        company=company,
        email=email,
        defaults={"name": name, "role": role, "last_login": timezone.now()},
    )
    return agent, created


@surfly_api()
def access_token(request: HttpRequest, company: Company) -> HttpResponse:
    """POST /agents/access-token/ (Agents_generateAccessToken).

    A token lives 24 h and a user has one at a time: without `force_new` the
    current one comes back unless it expires within 5 minutes.
    """
    f = Fields(read_json(request))
    force_new = f.flag("force_new", default=False)
    agent, created = _token_owner(company, f)
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
