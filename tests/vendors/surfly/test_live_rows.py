"""Live rows written in Python give the HTML the row template gave (kept here
verbatim as the reference), for every kind of row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.middleware.csrf import _unmask_cipher_token
from django.template import engines
from django.test.html import parse_html

from vendors.surfly.models import SurflyAgent

from .test_views import live_session, url

REFERENCE = (Path(__file__).parent / "live_rows_reference.html").read_text()
NASTY = "a\"b'c<d>&e"


def _tokenless(html: str) -> str:
    return re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+"', r'\1TOKEN"', html)


@pytest.mark.django_db
def test_live_rows_match_the_template_they_replaced(client, personas, account):
    SurflyAgent.objects.create(account=account, external_id="42", name=NASTY)
    live_session(
        account,
        1,
        agent_id="42",
        pin=NASTY,
        tags=[NASTY, "vip"],
        follower_link="https://example.com/f?a=1&b=<2>",
        queued=True,
    )
    live_session(account, 2, follower_link="javascript:alert(1)", queued=False)
    live_session(account, 3, agent_id="unknown<7>", formatted_id="", pin="")
    live_session(account, 4, start_time=None, tags=[])
    live_session(account, 5, formatted_id=NASTY, tags=["e\u0301" * 70])
    client.force_login(personas["agent"])
    response = client.get(url("live", account))
    assert response.status_code == 200
    html = response.content.decode()
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    rows = response.context["sessions"]
    assert len(rows) == 5
    context = {
        "sessions": rows,
        "live_url": response.context["live_url"],
        "csrf_token": response.context["csrf_token"],
    }
    old = engines["django"].from_string(REFERENCE).render(context)
    # The token is masked anew for each rendering: compare the rows without it,
    # and check every row carries one token, of this client's CSRF secret.
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body))
    assert len(tokens) == 1
    secret = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert _unmask_cipher_token(tokens.pop()) == secret
    assert parse_html(_tokenless(body)) == parse_html(_tokenless(old))
    assert body.count('name="csrfmiddlewaretoken"') == 5
    assert "&lt;d&gt;" in body and "<d>" not in body
    assert 'href="javascript:' not in body
