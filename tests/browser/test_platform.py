"""The main platform flow in a real browser (headless Chromium via Playwright):
log in, switch workspace, dashboard, add a Surfly account and test its connection."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cobrowse_portal.core.choices import AccountStatus, RunStatus
from cobrowse_portal.core.models import VendorAccount
from tests.conftest import PASSWORD
from tests.core.conftest import make_account, make_run, seed_surfly_rows
from vendors.surfly.sandbox.seed import RESELLER_KEY, seed

# The Surfly sandbox answers from its own database alias, hence "__all__".
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "screenshot-dashboard.png"


def seed_dashboard(reseller):
    """A workspace that looks lived-in for the README screenshot."""
    now = timezone.now()
    desk = make_account(reseller, "Acme support desk")
    VendorAccount.objects.filter(pk=desk.pk).update(
        status=AccountStatus.OK, last_synced_at=now - timedelta(minutes=3)
    )
    seed_surfly_rows(desk, "Acme")
    broken = make_account(reseller, "Acme EU desk")
    VendorAccount.objects.filter(pk=broken.pk).update(
        status=AccountStatus.NEEDS_ATTENTION,
        status_message="Invalid API key.",
        last_synced_at=now - timedelta(hours=5),
    )
    make_run(
        broken,
        "agents",
        RunStatus.FAILED,
        error="credentials rejected: Invalid API key.",
    )
    make_run(
        desk,
        "history",
        RunStatus.FAILED,
        error="surfly answered 503",
        queued_at=now - timedelta(hours=2),
    )


def test_login_switch_workspace_and_test_a_connection(
    page, live_server, personas, client_workspace, browser_errors
):
    seed_dashboard(client_workspace.parent)
    page.set_viewport_size({"width": 1280, "height": 860})

    # Log in through the form.
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Acme"
    assert page.locator(".account-card").count() == 2
    assert page.locator("text=Invalid API key.").first.is_visible()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Switch workspace with the header switcher (auto-submits on change).
    page.select_option("#ws-select", value=str(client_workspace.pk))
    page.wait_for_load_state("load")
    # (expect, not wait_for_function: the page's CSP forbids string eval.)
    expect(page.locator("h1")).to_have_text("Globex")
    assert "No vendor accounts yet" in page.content()

    # Vendor accounts -> Add -> Surfly.
    page.click("nav.sidebar >> text=Vendor accounts")
    page.wait_for_url(re.compile(r"/accounts/$"))
    page.click("text=Add your first account")
    page.click("a.card.pick >> text=Surfly")
    page.wait_for_url(re.compile(r"/accounts/add/\?vendor=surfly$"))
    page.fill("#id_name", "Globex Surfly")
    # The real client, over HTTP, against the Surfly sandbox this server mounts.
    page.fill("#id_base_url", f"{live_server.url}/sandbox/surfly/v2")
    page.fill("#id_cred_api_key", "not-a-real-key-123")
    page.click("#test-connection")
    error = page.locator("#test-result .test.fail")
    error.wait_for(state="visible", timeout=10_000)
    assert "Invalid API key." in error.inner_text()  # Surfly's own words, inline
    assert "not-a-real-key-123" not in page.content()
    # Testing saved nothing, and the typed values are still in the form.
    assert not VendorAccount.objects.filter(name="Globex Surfly").exists()
    assert page.input_value("#id_name") == "Globex Surfly"

    # A path that is not a Surfly API at all: the status, in our words.
    page.fill("#id_base_url", f"{live_server.url}/nonexistent")
    page.click("#test-connection")
    expect(page.locator("#test-result")).to_contain_text("404")
    assert "surfly answered 404" in error.inner_text()

    # The demo key the seeded sandbox accepts: connected, then saved.
    seed(size=5, seed=1)
    page.fill("#id_base_url", f"{live_server.url}/sandbox/surfly/v2")
    page.fill("#id_cred_api_key", RESELLER_KEY)
    page.click("#test-connection")
    ok = page.locator("#test-result .test.ok")
    ok.wait_for(state="visible", timeout=10_000)
    assert "REST key accepted" in ok.inner_text()
    page.click("#account-form button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/\d+/$"))
    account = VendorAccount.objects.get(name="Globex Surfly")
    assert account.workspace == client_workspace
    assert RESELLER_KEY not in page.content()

    assert not [e for e in browser_errors if "Content Security Policy" in e], (
        browser_errors
    )
    assert not browser_errors, browser_errors
