"""History rows written in Python give the HTML the row template gave (kept
here verbatim as the reference), for every kind of row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import engines
from django.test.html import parse_html

from vendors.surfly.models import SurflyAgent

from .test_views import live_session, make_session, url

REFERENCE = (Path(__file__).parent / "history_rows_reference.html").read_text()
NASTY = "a\"b'c<d>&e"


@pytest.mark.django_db
def test_history_rows_match_the_template_they_replaced(client, personas, account):
    SurflyAgent.objects.create(account=account, external_id="42", name=NASTY)
    make_session(account, 1, agent_id="42", pin=NASTY, tags=[NASTY, "vip"])
    make_session(account, 2, start_url="https://example.com/" + "x" * 80)
    make_session(account, 3, agent_id="unknown<7>", formatted_id="", duration=0)
    make_session(account, 4, start_time=None, duration=None, tags=[])
    make_session(account, 5, start_url=NASTY, duration=90061)
    live_session(account, 6, pin="", tags=["e\u0301" * 70])
    client.force_login(personas["manager"])
    response = client.get(url("history", account))
    assert response.status_code == 200
    html = response.content.decode()
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    rows = response.context["page"].rows
    assert len(rows) == 6
    old = (
        engines["django"]
        .from_string(REFERENCE)
        .render({"page": {"rows": rows}}, response.wsgi_request)
    )
    assert parse_html(body) == parse_html(old)
    assert "&lt;d&gt;" in body and "<d>" not in body
