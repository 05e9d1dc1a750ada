"""The rate budget in a real browser: the account page and the Sync runs page draw
the host's chart (Chart.js under the strict CSP) next to its table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cobrowse_portal.vendorkit.models import RateBudgetMinute
from tests.browser.test_control_room import chartjs_served  # noqa: F401
from tests.conftest import PASSWORD
from tests.core.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAWN = (
    "() => { const c = document.querySelector('canvas[data-chart=\"rate-0\"]');"
    " return typeof Chart !== 'undefined' && Chart.getChart(c) !== undefined"
    " && c.width > 0 && c.height > 0; }"
)


def test_the_rate_budget_chart_is_drawn_on_both_pages(
    page,
    live_server,
    personas,
    reseller,
    chartjs_served,  # noqa: F811
    browser_errors,
):
    account = make_account(reseller, "Acme desk")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    RateBudgetMinute.objects.create(
        host="surfly:surfly.test",
        minute=hour - timedelta(hours=2),
        requests=90,
        waited=4,
        wait_ms=3200,
        throttled=1,
    )
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "max")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    for path in (f"/accounts/{account.pk}/", "/runs/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("canvas[data-chart=rate-0]")).to_be_visible()
        page.wait_for_load_state("load")
        assert page.evaluate(DRAWN), path
        expect(page.locator(".rate-table tbody tr")).to_have_count(1)
        expect(page.locator(".rate-table tbody")).to_contain_text("90")
    assert not browser_errors, browser_errors
