"""Vendor URLs that are not http(s) (`javascript:` and friends) from a sync payload,
a webhook or a vendor answer are neither stored as links nor rendered into an
href, an img src or a copy button on any page; they show as text at most."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from cobrowse_portal.core.tasks import process_webhook_events
from cobrowse_portal.vendorkit.runs import execute_stream
from vendors.surfly.models import CobrowseSession

from .fake_api import on

EVIL = "javascript:alert(document.domain)"
TRICKY = [EVIL, "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)"]
#: Any attribute the browser would follow, run or put on the clipboard.
UNSAFE_ATTR = re.compile(
    r'(href|src|data-copy|action|formaction)\s*=\s*"\s*[^"]*script:', re.I
)


def url(name, account, *args):
    return reverse(f"surfly:{name}", args=[account.pk, *args])


def assert_no_unsafe_links(html: str):
    found = UNSAFE_ATTR.search(html)
    assert not found, html[max(0, found.start() - 200) : found.end() + 100]
    assert 'data-copy="java' not in html.lower()


def session_pages(client, account, session) -> dict[str, str]:
    pages = {
        "live": url("live", account),
        "session_detail": url("session_detail", account, session.pk),
        "history": url("history", account),
    }
    out = {}
    for name, page in pages.items():
        response = client.get(page)
        assert response.status_code == 200, name
        out[name] = response.content.decode()
    return out


def payload(link: str, **extra) -> dict:
    return {
        "id": "raw1",
        "session_id": "sess1",
        "formatted_id": "100-000-001",
        "agent_id": "7",
        "follower_link": link,
        "leader_link": link,
        "start_time": "2026-10-01T10:00:00Z",
        "end_time": None,
        "duration": None,
        "start_url": link,
        "tags": [],
        **extra,
    }


@pytest.mark.parametrize("link", TRICKY)
def test_a_javascript_link_from_a_sync_is_not_stored_or_linked(
    personas, login, account, mocked, link
):
    on(
        mocked,
        "GET",
        "sessions/",
        params={"active_session": "true"},
        json=[payload(link)],
    )
    assert execute_stream(account.pk, "live").status == "succeeded"
    session = CobrowseSession.objects.get(account=account, external_id="sess1")
    assert session.follower_link == "" and session.start_url == ""
    assert session.raw["follower_link"] == link  # the payload itself is kept
    for html in session_pages(login(personas["admin"]), account, session).values():
        assert_no_unsafe_links(html)


def test_an_unsafe_follower_link_falls_back_to_a_safe_viewer_link(account, mocked):
    from vendors.surfly.schemas import SessionInfo

    info = SessionInfo.parse(payload(EVIL, viewer_link="https://surfly.test/v/1"))
    assert info.follower_link == "https://surfly.test/v/1"
    assert info.leader_link == "" and info.start_url == ""


def test_a_javascript_link_from_a_webhook_is_not_stored_or_linked(
    personas, login, account
):
    live = CobrowseSession.objects.create(
        account=account,
        external_id="s-1",
        api_id="s-1",
        is_active=True,
        follower_link="https://surfly.test/f/1",
    )
    body = {
        "sequence_id": 1,
        "type": "session.started",
        "data": {"session_id": "s-1", "follower_link": EVIL, "leader_link": EVIL},
    }
    hook = reverse("webhook_receive", args=[account.pk, account.webhook_token])
    response = Client(enforce_csrf_checks=True).post(
        hook, json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 202
    process_webhook_events(account.pk)
    live.refresh_from_db()
    # The unsafe value never replaces the link Surfly gave before.
    assert live.follower_link == "https://surfly.test/f/1"
    assert live.leader_link == ""
    pages = session_pages(login(personas["admin"]), account, live)
    for html in pages.values():
        assert_no_unsafe_links(html)
    assert 'data-copy="https://surfly.test/f/1"' in pages["live"]


def test_a_webhook_for_a_new_session_stores_no_unsafe_link(account):
    body = {
        "sequence_id": 1,
        "type": "session.queued",
        "data": {"session_id": "s-9", "viewer_link": "JaVaScRiPt:alert(1)"},
    }
    hook = reverse("webhook_receive", args=[account.pk, account.webhook_token])
    Client().post(hook, json.dumps(body), content_type="application/json")
    process_webhook_events(account.pk)
    assert CobrowseSession.objects.get(external_id="s-9").follower_link == ""


def test_unsafe_values_already_stored_show_as_text(personas, login, account):
    """Rows written before this check (or by any other path) render as text."""
    session = CobrowseSession.objects.create(
        account=account,
        external_id="old-1",
        api_id="old-1",
        is_active=True,
        follower_link=EVIL,
        leader_link=EVIL,
        start_url=EVIL,
    )
    pages = session_pages(login(personas["admin"]), account, session)
    for html in pages.values():
        assert_no_unsafe_links(html)
    assert EVIL in pages["live"] and EVIL in pages["session_detail"]  # as text
    assert 'data-copy="' not in pages["session_detail"]


def test_safe_links_are_still_links(personas, login, account):
    session = CobrowseSession.objects.create(
        account=account,
        external_id="ok-1",
        api_id="ok-1",
        is_active=True,
        follower_link="https://surfly.test/f/ok",
        leader_link="https://surfly.test/l/ok",
        start_url="https://shop.example.com/",
    )
    pages = session_pages(login(personas["admin"]), account, session)
    assert 'href="https://surfly.test/f/ok"' in pages["live"]
    assert 'data-copy="https://surfly.test/f/ok"' in pages["live"]
    detail = pages["session_detail"]
    assert 'data-copy="https://surfly.test/f/ok"' in detail
    assert 'value="https://surfly.test/l/ok"' in detail
    assert 'href="https://shop.example.com/"' in detail


def test_a_started_session_with_unsafe_links_offers_no_link(
    personas, login, account, agent, mocked
):
    on(mocked, "POST", "sessions/", json=payload(EVIL, id="n1", session_id="n1x"))
    client = login(personas["agent"])
    response = client.post(
        url("session_start", account), {"url": "https://shop.example.com/"}
    )
    page = client.get(response["Location"]) if response.status_code == 302 else response
    html = page.content.decode()
    assert "Session 100-000-001 started" in html or "started</h2>" in html
    assert_no_unsafe_links(html)
    assert "Open as leader" not in html


def test_a_clients_active_sessions_with_an_unsafe_link(
    personas, login, account, client_row, mocked
):
    on(
        mocked,
        "GET",
        "sessions/",
        params={"clientkey": "ck-globex", "active_session": "true"},
        json=[payload(EVIL, session_id="cs-1")],
    )
    response = login(personas["manager"]).post(
        url("client_sessions", account, client_row.pk), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "cs-1" in html
    assert_no_unsafe_links(html)
