"""Agent rows written in Python give the HTML the row partial gave (kept here
verbatim as the reference), for every kind of row, on the list and after a
toggle (the row the htmx swap receives)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.template import engines
from django.test.html import parse_html
from django.utils import timezone

from cobrowse_portal.core import tasks  # noqa: F401  (registers the task defer schedules)
from cobrowse_portal.core.writes import defer, intended
from vendors.surfly import services
from vendors.surfly.models import SurflyAgent

from .fake_api import on
from .test_views import HX, url

REFERENCE = (Path(__file__).parent / "agent_rows_reference.html").read_text()
NASTY = "a\"b'c<d>&e"
TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+"')


def _tokenless(html: str) -> str:
    return TOKEN.sub(r'\1TOKEN"', html)


def _reference(account, agents, row_error="") -> str:
    template = engines["django"].from_string(REFERENCE)
    return "".join(
        template.render(
            {
                "agent": agent,
                "account": account,
                "row_error": row_error,
                "csrf_token": "TOKEN",
            }
        )
        for agent in agents
    )


@pytest.mark.django_db
def test_agent_rows_match_the_template_they_replaced(client, personas, account):
    now = timezone.now()
    make = SurflyAgent.objects.create
    make(
        account=account,
        external_id="1",
        name=NASTY,
        email=NASTY,
        role=NASTY,
        available=True,
        is_free=True,
        last_login=now - timedelta(hours=3),
    )
    make(account=account, external_id="2", name="", email="", available=None)
    make(
        account=account,
        external_id="3",
        name="Bob",
        available=False,
        last_login=now - timedelta(days=40),
    )
    renamed = make(account=account, external_id="4", name="Old", available=True)
    gone = make(account=account, external_id="5", name="Zed", available=False)
    defer(
        account,
        services.update_agent,
        description="rename",
        target=renamed,
        kwargs={"username": "New<b>", "available": False},
    )
    defer(account, services.delete_agent, description="delete", target=gone)
    client.force_login(personas["manager"])
    response = client.get(url("agents", account))
    assert response.status_code == 200
    page = response.content.decode()
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    agents = response.context["agents"]
    assert len(agents) == 5
    assert (
        len(set(TOKEN.findall(body))) == 1 and body.count("csrfmiddlewaretoken") == 15
    )
    assert parse_html(_tokenless(body)) == parse_html(
        _tokenless(_reference(account, agents))
    )
    assert "&lt;d&gt;" in body and "<d>" not in body
    assert "New&lt;b&gt;" in body and "deletion pending" in body


@pytest.mark.django_db
def test_the_toggled_row_matches_the_template_it_replaced(
    client, personas, account, agent, mocked
):
    """A Surfly that does not answer: the swapped-in row says why, with the kept
    change laid over it, as the row partial wrote it."""
    on(mocked, "PUT", "agents/42/", status=503)
    client.force_login(personas["manager"])
    response = client.post(url("agent_toggle", account, agent.pk), **HX)
    assert response.status_code == 422
    body = response.content.decode()
    row = intended(account, SurflyAgent.objects.get(pk=agent.pk))
    error = html.unescape(re.search(r'role="alert">(.+?)</div>', body).group(1))
    assert "not answering" in error and "change pending" in body
    assert parse_html(_tokenless(body)) == parse_html(
        _tokenless(_reference(account, [row], error))
    )
