"""Seats per client in a real browser: a reseller manager follows the sidebar
link, opens an idle-seat flag's list of inactive agents, and ticks "Include
archived clients" (an htmx swap that pushes the URL and carries the filter
into the CSV link)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.core.test_seats import frozen, world  # noqa: F401 (fixtures)

from .helpers import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("world", "frozen"),
]


def test_manager_reads_the_seats_of_each_client(page, live_server, browser_errors):
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, live_server, "max")
    page.click("#nav-reseller >> text=Seats per client")
    page.wait_for_url(f"{live_server.url}/clients/seats/")
    rows = page.locator("#seats-table tbody tr")
    expect(rows).to_have_count(3)
    globex = page.locator('tr[data-client="globex"]')
    expect(globex.locator(".idle-seats")).to_have_text("8 idle")
    inactive = globex.locator("details.seat-idle")
    expect(inactive.locator("li").first).not_to_be_visible()
    inactive.locator("summary").click()
    expect(inactive.locator("li")).to_have_count(2)
    expect(inactive).to_contain_text("Gina Idle")
    expect(page.locator("#seats-results")).to_contain_text(
        "1 archived client not shown"
    )

    page.check("#seats-archived")
    expect(rows).to_have_count(4)
    page.wait_for_url("**/clients/seats/?*archived=1*")
    expect(page.locator('tr.seat-archived[data-client="oldco"]')).to_contain_text(
        "archived"
    )
    csv_href = page.locator("#seats-csv").get_attribute("href")
    assert (
        csv_href.startswith("/clients/seats/export.csv?") and "archived=1" in csv_href
    )
    page.screenshot(path="/tmp/seats-browser.png", full_page=True)
    assert not browser_errors, browser_errors
