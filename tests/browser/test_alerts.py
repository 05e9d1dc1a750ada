"""Alerts in headless Chromium against the portal and its Surfly sandbox: an
admin changes a sandbox account's key to a wrong one, the next sync run finds it
rejected and the dashboard shows the open alert; the key fixed, the next run
resolves it and the Alerts page lists it as resolved."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from cobrowse_portal.alerts.models import Alert, AlertStatus
from cobrowse_portal.core.choices import AccountStatus, RunStatus
from cobrowse_portal.vendorkit.runs import execute_stream
from tests.browser.helpers import log_in
from tests.conftest import sandbox_account
from vendors.surfly.sandbox.seed import RESELLER_KEY, seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def change_key(page, base, account, key):
    page.goto(base + reverse("core:account_edit", args=[account.pk]))
    page.fill("#id_cred_api_key", key)
    page.click("#account-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/accounts/{account.pk}/$"))


def test_a_wrong_key_opens_an_alert_on_the_dashboard_and_fixing_it_resolves_it(
    page, live_server, personas, reseller, browser_errors
):
    seed(size=5, seed=1)
    account = sandbox_account(reseller, live_server.url)
    assert execute_stream(account.pk, "options").status == RunStatus.SUCCEEDED
    base = live_server.url
    log_in(page, live_server, personas["admin"].username)
    page.goto(base + reverse("core:dashboard"))
    expect(page.locator("h1")).to_have_text(reseller.name)
    expect(page.locator("#dashboard-alerts")).to_have_count(0)

    change_key(page, base, account, "sandbox-surfly-wrong-key-9999")
    run = execute_stream(account.pk, "options")  # what beat does next
    account.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert account.status == AccountStatus.NEEDS_ATTENTION

    page.goto(base + reverse("core:dashboard"))
    panel = page.locator("#dashboard-alerts")
    expect(panel).to_contain_text("1 open alert")
    expect(panel).to_contain_text("Account needs attention")
    expect(panel).to_contain_text(account.name)
    assert [m.subject for m in mail.outbox] == [
        f"[{reseller.name}] Alert: Account needs attention — {account}"
    ]

    # The Alerts page, from the panel's link: open, with an Acknowledge button.
    panel.get_by_role("link").click()
    row = page.locator("#alert-table tr[data-status=open]")
    expect(row).to_contain_text("Invalid API key")
    expect(row.get_by_role("button", name="Acknowledge")).to_be_visible()

    change_key(page, base, account, RESELLER_KEY)
    assert execute_stream(account.pk, "options").status == RunStatus.SUCCEEDED

    page.goto(base + reverse("core:dashboard"))
    expect(page.locator("h1")).to_have_text(reseller.name)
    expect(page.locator("#dashboard-alerts")).to_have_count(0)
    page.goto(base + reverse("alerts:list") + "?status=resolved")
    expect(page.locator("#alert-table tr[data-status=resolved]")).to_contain_text(
        account.name
    )
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at
    assert len(mail.outbox) == 2 and "Resolved" in mail.outbox[1].subject
    assert not browser_errors, browser_errors
