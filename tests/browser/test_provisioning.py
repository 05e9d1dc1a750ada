"""Reseller provisioning in headless Chromium against the portal and the
Surfly, SameSurf and Smartsupp sandboxes: a reseller admin provisions a client
at three vendors from one form while SameSurf answers every request with 500,
sees SameSurf's step fail with the reason and the two others done, retries it
once SameSurf is back, and opens the new client's dashboard."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from tests.browser.helpers import log_in
from tests.provisioning.conftest import (  # noqa: F401 - the fixtures
    _sandbox_snapshot,
    eager,
    reseller_accounts,
    sandboxes,
)
from vendors.samesurf.sandbox.models import Subscription
from vendors.samesurf.sandbox.seed import RESELLER_KEY

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("eager"),
]


def test_reseller_admin_provisions_a_client_at_three_vendors_with_a_retry(
    page,
    live_server,
    personas,
    reseller_accounts,  # noqa: F811 - the fixture
    browser_errors,
    settings,
):
    settings.VENDOR_MAX_RETRIES = 0
    set_faults("samesurf", RESELLER_KEY, rate_500=1.0)
    base = live_server.url
    log_in(page, live_server, personas["admin"].username)
    page.goto(base + reverse("provisioning:clients"))
    page.click("#new-client")
    page.fill("input[name=name]", "Initrode")
    page.fill("input[name=domains]", "initrode.example")
    page.select_option("select[name=time_zone]", "Europe/Amsterdam")
    page.fill("input[name=agent_name]", "Ivy Init")
    page.fill("input[name=agent_email]", "ivy@initrode.example")
    for vendor in ("surfly", "samesurf", "smartsupp"):
        page.check(f"input[name={vendor}__enabled]")
    page.fill("input[name=samesurf__license_count]", "3")
    page.fill("input[name=smartsupp__password]", "ivy-Pa55word")
    page.click("#provision")

    expect(page.locator("h1")).to_contain_text("New client: Initrode")
    failed = page.locator("#step-samesurf")
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed.locator(".step-message")).not_to_be_empty()
    expect(page.locator("#step-surfly")).to_have_attribute("data-status", "done")
    expect(page.locator("#step-smartsupp")).to_have_attribute("data-status", "done")
    expect(page.locator("#run-status")).to_contain_text("Failed")
    assert not Subscription.objects.filter(name="Initrode").exists()

    clear_faults("samesurf", RESELLER_KEY)
    failed.get_by_role("button", name="Retry").click()
    expect(page.locator("#step-samesurf")).to_have_attribute("data-status", "done")
    expect(page.locator("#run-status")).to_contain_text("Done")
    assert Subscription.objects.filter(name="Initrode").count() == 1
    expect(page.locator("#made-list")).to_contain_text("subscription “Initrode”")

    page.click("#open-client")
    expect(page.locator(".topbar")).to_contain_text("Initrode")
    expect(page.locator("h1")).to_be_visible()
    # SameSurf's refusals were answers the portal showed, not page errors.
    assert not [e for e in browser_errors if "/clients/" in e], browser_errors
