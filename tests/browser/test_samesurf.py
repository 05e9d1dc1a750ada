"""SameSurf flows in headless Chromium against the portal and its SameSurf
sandbox: a manager starts a room and sees it on the control room's Live; a
reseller admin creates a subscription and its client workspace."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cobrowse_portal.core.models import Workspace
from tests.browser.helpers import log_in
from tests.conftest import sandbox_account
from vendors.samesurf.models import SameSurfRoom, SameSurfSubscription
from vendors.samesurf.sandbox.models import Subscription
from vendors.samesurf.sandbox.seed import seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


@pytest.fixture
def account(reseller, live_server):
    seed(size=20, seed=1, reset=True)
    return sandbox_account(reseller, live_server.url, vendor="samesurf")


def test_manager_starts_a_room_and_sees_it_on_live(
    page, live_server, personas, account
):
    log_in(page, live_server, personas["manager"].username)
    page.goto(live_server.url + reverse("samesurf:room_start", args=[account.pk]))
    page.fill("input[name=start_url]", "https://shop.example.com/cart")
    page.fill("input[name=title]", "Browser room")
    page.fill("input[name=bookmark_0_name]", "Help")
    page.fill("input[name=bookmark_0_link]", "https://help.example.com/")
    page.check("input[value=TOOLS_VIDEO_CHAT]")
    page.click("#room-start-form button[type=submit]")

    expect(page.locator("#started")).to_contain_text("started")
    expect(page.locator("#leader-link")).to_have_value(re.compile(r"^https?://"))
    expect(page.locator("#invitee-link")).to_have_value(re.compile(r"^https?://"))
    room = SameSurfRoom.objects.get(account=account, title="Browser room")
    assert room.is_running and room.options["bookmarks"][0]["name"] == "Help"

    # The control room's Live lists it, as does SameSurf's running rooms page.
    page.goto(f"{live_server.url}/live/")
    expect(page.locator("#live-table")).to_contain_text("Browser room")
    page.goto(live_server.url + reverse("samesurf:running", args=[account.pk]))
    expect(page.locator("#running-table")).to_contain_text("Browser room")


def test_reseller_admin_creates_a_subscription_and_its_workspace(
    page, live_server, personas, account, reseller
):
    log_in(page, live_server, personas["admin"].username)
    page.goto(live_server.url + reverse("samesurf:subscription_add", args=[account.pk]))
    page.fill("input[name=name]", "Hooli (browser)")
    page.fill("input[name=license_count]", "7")
    page.select_option("select[name=override_0_key]", "welcome_active")
    page.fill("input[name=override_0_value]", "false")
    page.check("input[value=MODE_SCREEN_SHARE]")
    expect(page.locator("input[name=create_workspace]")).to_be_checked()
    page.click("#subscription-form button[type=submit]")

    expect(page.locator(".msg-success, .msg")).to_contain_text("Hooli (browser)")
    expect(page.locator("main")).to_contain_text("Hooli (browser)")
    sub = SameSurfSubscription.objects.get(account=account, name="Hooli (browser)")
    vendor = Subscription.objects.get(name="Hooli (browser)")
    assert vendor.license_count == 7
    assert vendor.overrides == [{"key": "welcome_active", "value": "false"}]
    workspace = Workspace.objects.get(pk=sub.client_workspace_id)
    assert workspace.parent_id == reseller.pk
    assert workspace.accounts.filter(vendor="samesurf").exists()
    # The new workspace's own SameSurf account works with its new key.
    page.goto(live_server.url + reverse("samesurf:subscriptions", args=[account.pk]))
    expect(page.locator("main table")).to_contain_text(str(workspace))
