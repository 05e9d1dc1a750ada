"""Upscope in headless Chromium against the portal and its Upscope sandbox: a
manager searches `online`, opens a visitor, starts a watch link (it opens in a
new tab), stops it (the page says "requested", as Upscope never confirms),
and sees the session, ended, in Activity.

How the ended session reaches the portal: the sandbox posts it to the
receiver the watch link named (Upscope's `webhook_url`), and the drain the
intake queues applies it (run here by the test, as the worker would).
"""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cobrowse_portal.core import tasks
from cobrowse_portal.core.models import Activity, WebhookEvent
from tests.browser.helpers import log_in
from tests.conftest import sandbox_account
from vendors.upscope.models import UpscopeSession
from vendors.upscope.sandbox.models import CobrowsingSession
from vendors.upscope.sandbox.seed import MAIN_KEY, seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

WATCH_HOST = "https://cobrowsingapi.com/"


@pytest.fixture
def account(reseller, live_server):
    seed(size=20, seed=1, reset=True)
    return sandbox_account(reseller, live_server.url, vendor="upscope")


@pytest.fixture
def drains(monkeypatch) -> list[int]:
    """The intake's queued drains (no worker here: the test runs them)."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", queued.append)
    return queued


def posted_end(account, timeout: float = 10.0) -> WebhookEvent:
    """Upscope's session-end post to the account's receiver, once it is stored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = WebhookEvent.objects.filter(account=account).first()
        if event is not None:
            return event
        time.sleep(0.1)
    raise AssertionError("the sandbox never posted the session's end")


def test_manager_watches_a_visitor_stops_and_sees_it_in_activity(
    page, live_server, personas, account, browser_errors, drains
):
    # The watch link is Upscope's own page on another host: answered here.
    page.context.route(
        f"{WATCH_HOST}**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<title>Upscope</title>"
        ),
    )
    log_in(page, live_server, personas["manager"].username)
    page.goto(live_server.url + reverse("upscope:visitors", args=[account.pk]))
    # The syntax is explained on the page.
    page.click("#search-help summary")
    expect(page.locator("#search-help")).to_contain_text("integration_id:")

    page.fill("input[name=q]", "online")
    page.click("#search-upscope")
    found = page.locator("#found-at-upscope")
    expect(found).to_contain_text("Ana Lima")
    # The seeded Jo Chen (v0003) is never online. By its id, not its name: the
    # seed's random visitors may be called "Jo Chen" too, and are online by
    # the clock.
    expect(found).not_to_contain_text("v0003")
    found.get_by_role("link", name="Ana Lima").click()
    expect(page.locator("h1")).to_contain_text("Ana Lima")

    with page.expect_popup() as popup:
        page.click("#watch-button")
    watch = popup.value
    watch.wait_for_url(f"{WATCH_HOST}**")  # the portal's page goes on to it
    assert re.match(r"^https://cobrowsingapi\.com/session/[0-9a-f-]{36}$", watch.url)
    watch.close()
    running = CobrowsingSession.objects.filter(
        account__api_key=MAIN_KEY, visitor_short_id="v0001", ended_at__isnull=True
    ).latest("number")
    assert running.agents[0]["name"] == personas["manager"].username
    assert running.webhook_url.endswith(f"/hooks/{account.pk}/{account.webhook_token}/")

    page.click("#stop-button")
    expect(page.locator(".msg, .msg-info").first).to_contain_text(
        "Stop requested; Upscope does not confirm"
    )
    running.refresh_from_db()
    assert running.ended_at is not None  # the sandbox did stop it
    # Upscope's confirmation is its post of the ended session to the receiver
    # the watch link named; until the worker applies it, nothing claims the end.
    event = posted_end(account)
    assert event.event_type == "session.ended"
    assert not UpscopeSession.objects.filter(
        account=account, external_id=running.public_id, is_ongoing=False
    ).exists()
    assert drains == [account.pk]
    tasks.process_webhook_events(account.pk)  # what the Celery worker runs

    page.reload()
    row = page.locator("#sessions tr", has_text=running.public_id)
    expect(row).to_contain_text("ended")

    page.goto(f"{live_server.url}/activity/?q={running.public_id}")
    table = page.locator("#activity-table")
    expect(table).to_contain_text(f"Session {running.public_id}")
    expect(table).to_contain_text("Ana Lima")
    expect(table).to_contain_text("Ended")
    act = Activity.objects.get(account=account, external_id=running.public_id)
    assert act.ended_at is not None
    # The activity links to the session's page.
    table.locator("tr", has_text=running.public_id).locator("a").first.click()
    expect(page.locator("h1")).to_contain_text(running.public_id)
    assert browser_errors == []
