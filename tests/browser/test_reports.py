"""Scheduled reports in a real browser: an operations user (a manager) creates a
weekly report, previews it, sends it now, and finds the message in the Outbox
(the HTML body in a sandboxed frame, the CSV listed as its attachment)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cobrowse_portal.reports.models import ReportDefinition
from tests.core.conftest import make_account
from tests.reports.conftest import activity

from .helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(personas, reseller, settings, tmp_path):
    settings.EMAIL_BACKEND = "cobrowse_portal.reports.mail.OutboxFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    account = make_account(reseller, "Zebracorn Desk")
    # Last week (Monday to Sunday, UTC): three co-browses of the account.
    today = timezone.now().date()
    monday = today - timedelta(days=today.weekday() + 7)
    start = timezone.make_aware(
        timezone.datetime(monday.year, monday.month, monday.day)
    )
    for hours in (10, 30, 50):
        activity(account, start + timedelta(hours=hours), 600)
    return tmp_path / "outbox"


def test_manager_creates_previews_sends_and_finds_it_in_the_outbox(
    page, live_server, world, browser_errors
):
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, live_server, "max")
    page.click("#nav-operations >> text=Reports")
    page.wait_for_url(f"{live_server.url}/reports/")
    page.click("#new-report")
    page.fill("#id_name", "Weekly ops")
    page.select_option("#id_frequency", "weekly")
    page.select_option("#id_weekday", "0")
    page.select_option("#id_hour", "7")
    page.fill("#id_recipients", "ops@example.com, lead@example.com")
    page.click("#save-report")
    expect(page.locator("h1")).to_have_text("Weekly ops")
    definition = ReportDefinition.objects.get()
    assert definition.frequency == "weekly" and definition.hour == 7

    page.click("#preview")
    expect(page.locator("#preview-note")).to_contain_text("nothing is stored or sent")
    table = page.locator("#section-activity table")
    expect(table).to_contain_text("Zebracorn Desk")
    expect(table.locator("tbody tr td").nth(3)).to_have_text("3")
    assert not definition.runs.exists() and not world.exists()

    page.click("#send-now")
    expect(page.locator("#run-status")).to_contain_text("Sent")
    run = definition.runs.get()
    assert run.status == "sent"

    page.click("#nav-operations >> text=Outbox")
    page.wait_for_url(f"{live_server.url}/reports/outbox/")
    rows = page.locator("#outbox-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ops@example.com, lead@example.com")
    expect(rows.first).to_contain_text(".csv")
    rows.first.locator("a").click()
    expect(page.locator("#attachments")).to_contain_text("text/csv")
    frame = page.frame_locator("#mail-html")
    expect(frame.locator("h2").first).to_have_text("Activity per vendor and account")
    expect(frame.locator("body")).to_contain_text("Zebracorn Desk")
    page.screenshot(path="/tmp/reports-browser.png", full_page=True)
    assert not browser_errors, browser_errors
