"""The webhook-versus-poll figures on the account page and the sync runs page:
the last covered pull, its miss rate, events never matched and the 14 days'
trend; in two queries whatever the number of accounts; only the workspace's own
accounts; only for the roles that see those pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core.choices import AccountStatus
from cobrowse_portal.vendorkit import reconciliation
from tests.core.conftest import OTHER_SECRET, make_account, make_run

pytestmark = pytest.mark.django_db

RUNS = reverse("core:run_list")


@pytest.fixture
def account(reseller, personas):
    return make_account(reseller, "Acme Desk", status=AccountStatus.OK)


@pytest.fixture
def theirs(other_workspace):
    return make_account(other_workspace, "Initech Desk", key=OTHER_SECRET)


def covered(account, missed, matched, unmatched=0, ago=timedelta(minutes=5)):
    return make_run(
        account,
        "history",
        queued_at=timezone.now() - ago,
        webhook_missed=missed,
        webhook_matched=matched,
        webhook_unmatched=unmatched,
    )


def section(html: str) -> str:
    start = html.index('id="webhook-reconciliation"')
    return html[start : html.index("</section>", start)]


def test_figures_last_pull_rate_and_days(reseller, account):
    now = timezone.now()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    covered(account, 3, 7, ago=now - (noon - timedelta(days=2)))
    covered(account, 1, 9, ago=now - (noon - timedelta(days=2, minutes=-1)))
    last = covered(account, 1, 3, unmatched=2)
    make_run(account, "agents")  # not covered: no figures, not counted
    found = reconciliation.figures([account])
    [row] = found["accounts"]
    assert row["last"] == last and row["rate"] == 25.0
    by_day = {d["day"]: d for d in row["rows"]}
    two_days_ago = (noon - timedelta(days=2)).strftime("%Y-%m-%d")
    assert by_day[two_days_ago]["missed"] == 4
    assert by_day[two_days_ago]["matched"] == 16
    assert by_day[two_days_ago]["rate"] == 20.0 and by_day[two_days_ago]["runs"] == 2
    [chart] = found["chart"]["charts"]
    assert len(found["chart"]["labels"]) == reconciliation.WINDOW_DAYS
    assert sum(chart["datasets"][0]["data"]) == 5  # missed over the 14 days


def test_figures_take_two_queries_for_any_number_of_accounts(reseller, account):
    others = [make_account(reseller, f"Desk {i}") for i in range(3)]
    for a in [account, *others]:
        covered(a, 1, 1)
        covered(a, 0, 2, ago=timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        found = reconciliation.figures([account, *others])
    assert len(queries) == 2
    assert [r["last"].webhook_missed for r in found["accounts"]] == [1, 1, 1, 1]


def test_the_account_page_shows_the_section(reseller, account, client, personas):
    covered(account, 2, 6, unmatched=3)
    client.force_login(personas["manager"])
    page = client.get(reverse("core:account_detail", args=[account.pk]))
    assert page.status_code == 200
    html = section(page.content.decode())
    assert 'class="recon-missed">2<' in html and 'class="recon-matched">6<' in html
    assert 'class="recon-rate">25.0 %<' in html
    assert 'class="recon-unmatched">3<' in html
    assert 'data-source="recon-data"' in html


def test_the_runs_page_shows_only_the_workspaces_figures(
    reseller, account, theirs, client, personas
):
    covered(account, 2, 6)
    covered(theirs, 41, 1)
    client.force_login(personas["manager"])
    html = client.get(RUNS).content.decode()
    part = section(html)
    assert "Acme Desk" in part and "Initech Desk" not in part
    assert 'class="recon-missed">2<' in part and ">41<" not in part
    assert "2 / 6" in html  # the run table's column
    assert "41 / 1" not in html
    # An htmx filter request renders the table only (no second figures read).
    fragment = client.get(RUNS, headers={"HX-Request": "true"}).content.decode()
    assert 'id="webhook-reconciliation"' not in fragment


def test_no_section_for_vendors_whose_webhooks_cover_no_pull(
    reseller, client, personas
):
    chat = make_account(reseller, "Chats", vendor="smartsupp")
    client.force_login(personas["manager"])
    page = client.get(reverse("core:account_detail", args=[chat.pk])).content.decode()
    assert 'id="webhook-reconciliation"' not in page


def test_roles_and_workspaces(reseller, account, theirs, client, personas):
    covered(account, 2, 6)
    client.force_login(personas["agent"])  # cannot see accounts or runs
    assert (
        client.get(reverse("core:account_detail", args=[account.pk])).status_code == 403
    )
    assert client.get(RUNS).status_code == 403
    client.force_login(personas["outsider"])  # the other workspace's admin
    assert (
        client.get(reverse("core:account_detail", args=[account.pk])).status_code == 404
    )
    html = client.get(RUNS).content.decode()
    assert "Acme Desk" not in html and "2 / 6" not in html
