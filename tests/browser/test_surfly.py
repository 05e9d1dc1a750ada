"""Surfly flows in headless Chromium against the portal and its Surfly sandbox."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cobrowse_portal.vendorkit.runs import execute_stream
from tests.browser.helpers import log_in
from tests.conftest import sandbox_account
from vendors.surfly.models import CobrowseSession, SurflyClient
from vendors.surfly.sandbox.models import Company
from vendors.surfly.sandbox.seed import RESELLER_KEY, seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


@pytest.fixture
def account(reseller, live_server):
    seed(size=40, seed=1)
    account = sandbox_account(reseller, live_server.url)
    for stream in ("agents", "options"):
        execute_stream(account.pk, stream)
    return account


def test_manager_starts_sees_ends_and_finds_a_cobrowse(
    page, live_server, personas, account
):
    log_in(page, live_server, personas["manager"].username)
    page.goto(live_server.url + reverse("surfly:session_start", args=[account.pk]))
    page.fill("input[name=url]", "https://shop.example.com/cart")
    page.fill("input[name=tags]", "browser-test, checkout")
    page.click("#session-start-form button[type=submit]")

    started = page.locator("#started")
    expect(started).to_contain_text("expires if not opened within 2 minutes")
    expect(page.locator("#leader-link")).to_have_value(re.compile(r"^https?://"))
    expect(page.locator("#follower-link")).to_have_value(re.compile(r"^https?://"))
    session = CobrowseSession.objects.get(
        account=account, start_url="https://shop.example.com/cart"
    )
    assert session.tags == ["browser-test", "checkout"]
    assert session.is_active

    # Live sessions lists it, with an End button.
    page.goto(live_server.url + reverse("surfly:live", args=[account.pk]))
    row = page.locator("#live-table tr", has_text=str(session))
    expect(row).to_be_visible()
    page.on("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="End").click()
    expect(page.locator("#live-table")).not_to_contain_text(str(session))
    session.refresh_from_db()
    assert not session.is_active and session.end_time is not None

    # History shows the ended session; filter by its tag.
    page.goto(
        live_server.url
        + reverse("surfly:history", args=[account.pk])
        + "?tags=browser-test"
    )
    expect(page.locator("main")).to_contain_text(str(session))


def test_reseller_admin_creates_a_client_with_domains(
    page, live_server, personas, account
):
    log_in(page, live_server, personas["admin"].username)
    page.goto(live_server.url + reverse("surfly:client_add", args=[account.pk]))
    page.fill("input[name=company_name]", "Browser Test Ltd")
    page.fill("[name=domains]", "browsertest.example, *.browsertest.example")
    page.fill("input[name=agent_email]", "first@browsertest.example")
    page.fill("input[name=agent_name]", "First Agent")
    page.click("#client-form button[type=submit]")

    expect(page.locator("main")).to_contain_text("Browser Test Ltd")
    expect(page.locator("main")).to_contain_text("*.browsertest.example")
    client = SurflyClient.objects.get(account=account, company_name="Browser Test Ltd")
    assert client.domains == ["browsertest.example", "*.browsertest.example"]
    # It exists at Surfly (the sandbox), not only locally.
    assert Company.objects.filter(
        name="Browser Test Ltd", reseller__api_key=RESELLER_KEY
    ).exists()
