"""The control room in a real browser: a manager opens Dashboard, Live, Activity
(a filter, a search, the next page and back), Agents and Usage (a chart drawn)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.utils import timezone
from playwright.sync_api import expect

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus
from cobrowse_portal.core.models import (
    Activity,
    AgentIdentity,
    UsageDay,
    VendorAccount,
    VendorAgent,
)
from tests.conftest import PASSWORD
from tests.core.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTJS = "vendor/chartjs/chart.umd.min.js"
NODE_CHARTJS = Path(__file__).resolve().parents[2] / "node_modules/chart.js/dist"


@pytest.fixture
def chartjs_served(settings):
    """Chart.js from the static files (the Makefile installs it from npm); a
    worktree with only `node_modules/` gets it mapped there for this test."""
    finders.get_finder.cache_clear()
    if not finders.find(CHARTJS):
        if not (NODE_CHARTJS / "chart.umd.min.js").exists():
            pytest.skip("Chart.js not installed (make install / npm ci)")
        settings.STATICFILES_DIRS = [
            *settings.STATICFILES_DIRS,
            ("vendor/chartjs", str(NODE_CHARTJS)),
        ]
        finders.get_finder.cache_clear()
    yield
    finders.get_finder.cache_clear()


def seed_control_room(workspace):
    now = timezone.now()
    desk = make_account(workspace, "Acme desk")
    other = VendorAccount(
        workspace=workspace, vendor="upscope", name="Upscope desk", base_url="x"
    )
    other.set_credentials({"api_key": "k"})
    other = VendorAccount.objects.bulk_create([other])[0]
    ann = AgentIdentity.objects.create(
        workspace=workspace, email="ann@x.com", name="Ann"
    )
    VendorAgent.objects.create(
        workspace=workspace,
        account=desk,
        vendor="surfly",
        external_id="a1",
        identity=ann,
    )
    rows = []
    for i in range(60):
        rows.append(
            Activity(
                workspace=workspace,
                account=desk,
                vendor="surfly",
                kind=ActivityKind.COBROWSE,
                external_id=f"s{i}",
                status=ActivityStatus.ENDED,
                started_at=now - timedelta(minutes=10 + i),
                duration=600,
                agent=ann,
                agent_name="Ann",
                title=f"needle {i:02d}",
                search=f"ann needle {i:02d}",
            )
        )
    for i in range(10):
        rows.append(
            Activity(
                workspace=workspace,
                account=other,
                vendor="upscope",
                kind=ActivityKind.COBROWSE,
                external_id=f"u{i}",
                status=ActivityStatus.ENDED,
                started_at=now - timedelta(minutes=5 + i),
                title=f"haystack {i}",
                search=f"haystack {i}",
            )
        )
    rows.append(
        Activity(
            workspace=workspace,
            account=desk,
            vendor="surfly",
            kind=ActivityKind.COBROWSE,
            external_id="live-1",
            status=ActivityStatus.LIVE,
            started_at=now,
            visitor="Visitor on the phone",
            search="visitor on the phone",
        )
    )
    Activity.objects.bulk_create(rows)
    today = timezone.localdate()
    UsageDay.objects.bulk_create(
        UsageDay(
            workspace=workspace,
            account=account,
            vendor=account.vendor,
            day=today - timedelta(days=d),
            activities=d + 3,
            seconds=60 * (d + 5),
            agents=2,
        )
        for d in range(30)
        for account in (desk, other)
    )


def test_manager_walks_the_control_room(
    page, live_server, personas, reseller, chartjs_served, browser_errors
):
    seed_control_room(reseller)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "max")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # Dashboard: the tiles and the accounts' health.
    expect(page.locator('[data-kpi="activities"] .kpi-today')).to_have_text(
        "6"
    )  # 3 at each of two accounts
    expect(page.locator('[data-kpi="live-now"] .kpi-today')).to_have_text("1")
    assert page.locator(".kpi svg.sparkline").count() >= 3
    assert page.locator(".account-card").count() == 2

    # Live.
    page.goto(f"{live_server.url}/live/")
    expect(page.locator("#live-table")).to_contain_text("Visitor on the phone")

    # Activity: a filter, a search, the next page, back.
    page.goto(f"{live_server.url}/activity/")
    expect(page.locator("#activity-table tbody tr")).to_have_count(50)
    page.select_option("#id_vendor", "upscope")
    expect(page).to_have_url(re.compile(r"vendor=upscope"))
    expect(page.locator("#activity-table tbody tr")).to_have_count(10)
    page.select_option("#id_vendor", "surfly")
    page.fill("#id_q", "needle")
    page.press("#id_q", "Enter")
    expect(page).to_have_url(re.compile(r"q=needle"))
    expect(page.locator("#activity-table tbody tr")).to_have_count(50)
    expect(page.locator("#activity-table tbody tr").first).to_contain_text("needle 00")
    page.click("nav.pager >> text=Older")
    expect(page).to_have_url(re.compile(r"after="))
    expect(page.locator("#activity-table tbody tr")).to_have_count(10)
    expect(page.locator("#activity-table tbody tr").first).to_contain_text("needle 50")
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"after="))
    expect(page.locator("#activity-table tbody tr").first).to_contain_text("needle 00")
    expect(page.locator("#activity-table tbody tr")).to_have_count(50)

    # Agents.
    page.goto(f"{live_server.url}/agents/")
    expect(page.locator("#directory")).to_contain_text("ann@x.com")

    # Usage: Chart.js drew the charts.
    page.goto(f"{live_server.url}/usage/")
    canvas = page.locator("canvas[data-chart=activities]")
    expect(canvas).to_be_visible()
    page.wait_for_load_state("load")
    drawn = page.evaluate(
        "() => { const c = document.querySelector('canvas[data-chart]');"
        " return typeof Chart !== 'undefined' && Chart.getChart(c) !== undefined"
        " && c.width > 0 && c.height > 0; }"
    )
    assert drawn
    assert page.locator("canvas[data-chart]").count() == 3

    assert not [e for e in browser_errors if "Content Security Policy" in e], (
        browser_errors
    )
    assert not browser_errors, browser_errors
