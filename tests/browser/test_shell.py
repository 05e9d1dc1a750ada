"""The shell in a real browser: the sidebar folds away behind a toggler on a phone,
and a vendor group's account picker points its one link set at another account."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.helpers import log_in
from tests.core.conftest import make_account

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def test_sidebar_folds_away_on_a_narrow_screen(
    page, live_server, personas, reseller, browser_errors
):
    make_account(reseller, "Acme desk")
    page.set_viewport_size({"width": 400, "height": 800})
    log_in(page, live_server, personas["manager"].username)

    sidebar = page.locator("nav.sidebar")
    toggler = page.locator("#sidebar-toggler")
    expect(toggler).to_be_visible()
    expect(sidebar).to_be_hidden()
    expect(sidebar.get_by_role("link", name="Vendor accounts")).to_be_hidden()

    toggler.click()
    expect(sidebar).to_be_visible()
    link = sidebar.get_by_role("link", name="Vendor accounts")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(re.compile(r"/accounts/$"))
    expect(page.locator("h1")).to_have_text(re.compile("Vendor accounts"))
    # A new page starts with the sidebar folded again.
    expect(sidebar).to_be_hidden()

    # On a wide screen it is a fixed column, and the toggler is gone.
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(sidebar).to_be_visible()
    expect(toggler).to_be_hidden()
    assert browser_errors == []


def test_account_picker_points_the_vendor_links_at_the_chosen_account(
    page, live_server, personas, reseller, browser_errors
):
    first = make_account(reseller, "Acme desk")
    second = make_account(reseller, "Acme EU desk")
    page.set_viewport_size({"width": 1280, "height": 860})
    log_in(page, live_server, personas["manager"].username)

    group = page.locator("#nav-surfly")
    live = group.get_by_role("link", name="Live sessions")
    history = group.get_by_role("link", name="History")
    picker = group.locator("select[data-nav-account]")
    # One link set for the vendor, whatever the number of accounts.
    expect(group.get_by_role("link", name="Live sessions")).to_have_count(1)
    expect(picker.locator("option")).to_have_count(2)
    # Accounts are listed by name: "Acme EU desk" first.
    expect(picker).to_have_value(str(second.pk))
    expect(live).to_have_attribute("href", reverse("surfly:live", args=[second.pk]))

    picker.select_option(str(first.pk))
    expect(live).to_have_attribute("href", reverse("surfly:live", args=[first.pk]))
    expect(history).to_have_attribute(
        "href", reverse("surfly:history", args=[first.pk])
    )
    # The choice is remembered for the next page.
    page.goto(f"{live_server.url}{reverse('core:run_list')}")
    expect(picker).to_have_value(str(first.pk))
    expect(live).to_have_attribute("href", reverse("surfly:live", args=[first.pk]))
    live.click()
    page.wait_for_url(re.compile(re.escape(reverse("surfly:live", args=[first.pk]))))
    expect(live).to_have_class(re.compile(r"\bactive\b"))

    # A page of the other account shows that account in the picker, and keeps it.
    page.goto(f"{live_server.url}{reverse('surfly:history', args=[second.pk])}")
    expect(picker).to_have_value(str(second.pk))
    expect(history).to_have_class(re.compile(r"\bactive\b"))
    page.goto(f"{live_server.url}{reverse('core:run_list')}")
    expect(picker).to_have_value(str(second.pk))

    # The user menu is Bootstrap's dropdown (its script under the strict CSP).
    logout = page.get_by_role("button", name="Log out")
    expect(logout).to_be_hidden()
    page.click(".usermenu .dropdown-toggle")
    expect(logout).to_be_visible()
    logout.click()
    page.wait_for_url(re.compile(r"/login/"))
    assert browser_errors == []
