"""Smartsupp in headless Chromium against the portal and its Smartsupp sandbox:
a reseller admin creates an account (and its client workspace), copies nothing
but sees the chat code, adds an agent (the password typed once), creates a
trigger with two conditions (the second row added with the editor's button),
sets office hours in the weekly editor, and sees all of it after a reload — as
stored at Smartsupp (the sandbox) and in the portal."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.helpers import log_in
from tests.conftest import sandbox_account
from tests.vendors.smartsupp.pages import pages  # noqa: F401 - the fixture
from vendors.smartsupp.models import SmartsuppAccount
from vendors.smartsupp.sandbox import models as sbx
from vendors.smartsupp.sandbox.seed import seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("pages"),
]

PASSWORD = "agent-Pa55word!"


@pytest.fixture
def account(reseller, live_server, pages):  # noqa: F811 - the fixture
    seed(size=3, seed=1, reset=True)
    return sandbox_account(reseller, live_server.url, vendor="smartsupp")


def test_reseller_admin_provisions_an_account_end_to_end(
    page, live_server, personas, account, browser_errors
):
    base = live_server.url
    log_in(page, live_server, personas["admin"].username)
    page.goto(base + reverse("smartsupp:accounts", args=[account.pk]))
    page.get_by_role("link", name="Create account").first.click()
    page.fill("input[name=title]", "Planted Co")
    page.fill("input[name=lang]", "de")
    page.click("#account-form button[type=submit]")
    expect(page.locator(".msg").first).to_contain_text("created at Smartsupp")
    expect(page.locator("h1")).to_contain_text("Planted Co")
    sa = SmartsuppAccount.objects.get(account=account, title="Planted Co")
    remote = sbx.Account.objects.get(number=int(sa.external_id))
    expect(page.locator("#chat-code")).to_contain_text(remote.account_key)

    # An agent, on the new account's users page.
    page.get_by_role("link", name="0").first.click()  # the users count
    page.get_by_role("link", name="Add user").click()
    page.select_option("select[name=role]", "agent")
    page.fill("input[name=email]", "dora@planted.test")
    page.fill("input[name=fullname]", "Dora Agent")
    page.fill("input[name=password]", PASSWORD)
    page.click("#user-form button[type=submit]")
    expect(page.locator("#users")).to_contain_text("Dora Agent")

    # A trigger with two conditions: the second row comes from "Add condition".
    page.goto(base + reverse("smartsupp:triggers", args=[account.pk]) + f"?sa={sa.pk}")
    page.get_by_role("link", name="Create trigger").click()
    page.fill("input[name=name]", "1st visit greeting")
    page.fill("input[name=event]", "onload")
    rows = page.locator("#condition-rows [data-row]")
    rows.nth(0).locator("input[name=condition_name]").fill("delay_site")
    rows.nth(0).locator("input[name=condition_value]").fill("60")
    page.click("[data-row-add='#condition-rows']")
    expect(rows).to_have_count(2)
    rows.nth(1).locator("input[name=condition_name]").fill("number_of_visits")
    rows.nth(1).locator("input[name=condition_value]").fill("1")
    page.fill("input[name=action_nick]", "Support")
    page.fill("textarea[name=action_message]", "Hello, first time here?")
    page.click("#trigger-form button[type=submit]")
    expect(page.locator("#triggers")).to_contain_text("1st visit greeting")

    # Office hours: Monday 08:00–12:00 and 13:00–17:00, UTC+1.
    page.goto(
        base + reverse("smartsupp:officehours", args=[account.pk]) + f"?sa={sa.pk}"
    )
    page.check("input[name=open][value='1']")
    page.select_option("select[name=timezone]", "1")
    page.check("input[name=active]")
    monday = page.locator("#ranges-1 [data-row]")
    monday.nth(0).locator("input[name=from_1]").fill("08:00")
    monday.nth(0).locator("input[name=to_1]").fill("12:00")
    page.click("[data-row-add='#ranges-1']")
    monday.nth(1).locator("input[name=from_1]").fill("13:00")
    monday.nth(1).locator("input[name=to_1]").fill("17:00")
    page.click("#officehours-form button[type=submit]")
    expect(page.locator(".msg").first).to_contain_text("saved at Smartsupp")

    # After a reload, every page shows what was made.
    page.reload()
    expect(page.locator("#ranges-1 input[name=to_1]").nth(1)).to_have_value("17:00")
    expect(page.locator("select[name=timezone]")).to_have_value("1")
    page.goto(base + reverse("smartsupp:users", args=[account.pk]) + f"?sa={sa.pk}")
    page.reload()
    expect(page.locator("#users")).to_contain_text("Dora Agent")
    page.goto(base + reverse("smartsupp:triggers", args=[account.pk]) + f"?sa={sa.pk}")
    page.reload()
    page.get_by_role("link", name="1st visit greeting").click()
    names = page.locator("#condition-rows input[name=condition_name]")
    expect(names.nth(0)).to_have_value("delay_site")
    expect(names.nth(1)).to_have_value("number_of_visits")
    page.goto(base + reverse("smartsupp:accounts", args=[account.pk]))
    page.reload()
    expect(page.locator("#accounts")).to_contain_text("Planted Co")
    assert page.locator("input[type=password]").count() == 0

    # At Smartsupp (the sandbox).
    assert sbx.User.objects.get(email="dora@planted.test").account_id == remote.pk
    trigger = sbx.Trigger.objects.get(account=remote, name="1st visit greeting")
    assert [c["name"] for c in trigger.conditions] == ["delay_site", "number_of_visits"]
    hours = sbx.OfficeHours.objects.get(account=remote)
    assert hours.config == [
        {"dow": 1, "times": [{"from": 480, "to": 720}, {"from": 780, "to": 1020}]}
    ]
    assert not browser_errors, browser_errors
