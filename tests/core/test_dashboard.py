"""The dashboard: one card per account with health, last and next sync, and the
recent failed runs of the workspace."""

from __future__ import annotations

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from cobrowse_portal.core.choices import AccountStatus, RunStatus
from cobrowse_portal.core.models import VendorAccount

from .conftest import make_account, make_run

DASHBOARD = reverse("core:dashboard")


def cards(html: str) -> dict[str, str]:
    """Card HTML by account name."""
    found = {}
    for chunk in html.split('<article class="card account-card">')[1:]:
        name = re.search(r"<h2>[^<]*· ([^<]+)</h2>", chunk).group(1)
        found[name] = chunk.split("</article>")[0]
    return found


def test_cards_show_health_last_and_next_sync(portal, client):
    now = timezone.now()
    VendorAccount.objects.filter(pk=portal.account.pk).update(
        status=AccountStatus.OK, last_synced_at=now - timedelta(minutes=5)
    )
    failing = make_account(portal.reseller, "Broken desk")
    VendorAccount.objects.filter(pk=failing.pk).update(
        status=AccountStatus.NEEDS_ATTENTION, status_message="Invalid API key."
    )
    disabled = make_account(portal.reseller, "Paused desk", enabled=False)
    PeriodicTask.objects.filter(
        name__startswith=f"account-{portal.account.pk}-"
    ).update(last_run_at=now - timedelta(seconds=30))
    client.force_login(portal.personas["admin"])
    found = cards(client.get(DASHBOARD).content.decode())
    assert set(found) == {
        "Zebracorn Reseller Desk",
        "Zebracorn Rooms",
        "Zebracorn Visitors",
        "Zebracorn Forms",
        "Zebracorn Chat",
        "Broken desk",
        "Paused desk",
    }

    healthy = found["Zebracorn Reseller Desk"]
    assert "badge-green" in healthy and "Healthy" in healthy
    assert "5\xa0minutes ago" in healthy  # last sync
    assert re.search(r"Next sync</dt><dd>[^<]*from now", healthy)
    assert "Live sessions" in healthy  # the vendor's own figures
    assert reverse("core:account_detail", args=[portal.account.pk]) in healthy

    broken = found["Broken desk"]
    assert "Needs attention" in broken and "Invalid API key." in broken
    assert "Last sync</dt><dd>never" in broken
    # Its runs are skipped, so no "next sync" time is promised.
    assert "Next sync</dt><dd>paused until the credentials change" in broken

    paused = found["Paused desk"]
    assert "disabled" in paused and "not scheduled" in paused
    assert disabled.pk and failing.pk


def test_recent_failed_runs_newest_first_and_scoped(portal, client):
    make_run(
        portal.account,
        "history",
        RunStatus.FAILED,
        error="old failure",
        queued_at=timezone.now() - timedelta(hours=3),
    )
    base = timezone.now()  # newer than the fixture's failed run
    for i in range(12):
        make_run(
            portal.account,
            "live",
            RunStatus.FAILED,
            error=f"live failure {i}",
            queued_at=base + timedelta(seconds=i),
        )
    make_run(portal.account, "agents", RunStatus.SUCCEEDED)
    make_run(portal.other_account, "agents", RunStatus.FAILED, error="initech failure")
    client.force_login(portal.personas["manager"])
    html = client.get(DASHBOARD).content.decode()
    assert "Recent failed runs" in html
    failed_rows = re.findall(r'class="error">([^<]+)</td>', html)
    assert len(failed_rows) == 10  # capped
    assert failed_rows[0] == "live failure 11"
    assert "old failure" not in html and "initech failure" not in html


def test_no_failed_runs_says_healthy(reseller, personas, client):
    make_account(reseller, "Desk")
    client.force_login(personas["manager"])
    assert "No failed runs" in client.get(DASHBOARD).content.decode()


def test_agents_see_cards_but_not_operations(portal, client):
    client.force_login(portal.personas["agent"])
    html = client.get(DASHBOARD).content.decode()
    assert "Zebracorn Reseller Desk" in html
    assert "Recent failed runs" not in html
    assert "boom at the vendor" not in html
    assert reverse("core:account_detail", args=[portal.account.pk]) not in html
    assert reverse("core:account_list") not in html  # sidebar hides Operations


def test_every_link_on_the_dashboard_opens_for_its_viewer(portal, client, no_network):
    """An agent is never sent to a page that answers 403 (the agents page is for
    managers): each role gets only the links it may follow."""
    linked = {}
    for who in ("agent", "manager", "admin"):
        client.force_login(portal.personas[who])
        html = client.get(DASHBOARD).content.decode()
        main = html.split("<main", 1)[1].split("</main>", 1)[0]
        hrefs = set(re.findall(r'href="(/[^"#]*)', main))
        linked[who] = hrefs
        for href in hrefs:
            status = client.get(href).status_code
            assert status == 200, f"{who}: {href} answered {status}"
    agents_page = reverse("surfly:agents", args=[portal.account.pk])
    assert agents_page not in linked["agent"]
    assert agents_page in linked["manager"]


def test_empty_workspace_invites_the_admin_to_add_an_account(personas, client):
    client.force_login(personas["admin"])
    html = client.get(DASHBOARD).content.decode()
    assert "No vendor accounts yet" in html and reverse("core:account_add") in html
    client.force_login(personas["agent"])
    html = client.get(DASHBOARD).content.decode()
    assert "Ask a workspace admin" in html and reverse("core:account_add") not in html


def test_htmx_poll_returns_only_the_cards(portal, client):
    client.force_login(portal.personas["admin"])
    html = client.get(DASHBOARD, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and "account-card" in html
    full = client.get(DASHBOARD).content.decode()
    assert 'hx-trigger="every 30s"' in full


def test_dashboard_makes_no_vendor_call(portal, client, no_network):
    client.force_login(portal.personas["admin"])
    assert client.get(DASHBOARD).status_code == 200
    assert len(no_network.calls) == 0


def test_query_count_does_not_grow_with_runs(
    portal, client, django_assert_max_num_queries
):
    """Bounded queries, and the page shows the numbers those queries produced."""
    from cobrowse_portal.core.choices import WriteStatus
    from cobrowse_portal.core.models import PendingWrite
    from vendors.surfly.models import CobrowseSession, SurflyAgent

    account, now = portal.account, timezone.now()
    # Live sessions: the fixture's one plus 3; 2 ended ones do not count.
    for i in range(5):
        CobrowseSession.objects.create(
            account=account,
            external_id=f"live-{i}",
            api_id=f"live-{i}",
            start_time=now,
            is_active=i < 3,
        )
    # Agents free: 3 of 5 (the fixture's one made busy; a removed one is not counted).
    SurflyAgent.objects.filter(account=account).update(is_free=False)
    for i, free in enumerate([True, True, False, True]):
        SurflyAgent.objects.create(account=account, external_id=f"ag-{i}", is_free=free)
    SurflyAgent.objects.create(
        account=account, external_id="ag-gone", is_free=True, removed_at=now
    )
    # Changes waiting: pending and failed count, discarded and done do not.
    for status in [WriteStatus.PENDING] * 2 + [
        WriteStatus.FAILED,
        WriteStatus.DISCARDED,
    ]:
        PendingWrite.objects.create(
            account=account, action="x.y", description="d", status=status
        )
    # Another workspace's rows never count here.
    CobrowseSession.objects.create(
        account=portal.other_account, external_id="o", api_id="o", is_active=True
    )
    PendingWrite.objects.create(
        account=portal.other_account, action="x.y", description="d"
    )
    base = timezone.now()
    for i in range(50):
        make_run(
            account,
            "live",
            RunStatus.FAILED,
            error=f"failure number {i}",
            queued_at=base + timedelta(seconds=i),
        )
    client.force_login(portal.personas["admin"])
    with django_assert_max_num_queries(40):
        response = client.get(DASHBOARD)
    html = response.content.decode()
    card = cards(html)["Zebracorn Reseller Desk"]

    def figure(label: str) -> str:
        found = re.search(rf"<dt>{label}</dt><dd>(?:<a [^>]*>)?([^<]+)<", card)
        assert found, f"no {label!r} on the card"
        return found.group(1)

    assert figure("Live sessions") == "4"
    assert figure("Agents free") == "3 of 5"
    assert figure("Changes waiting") == "3"
    failed_rows = re.findall(r'class="error">([^<]+)</td>', html)
    assert failed_rows == [f"failure number {i}" for i in range(49, 39, -1)]


def test_samesurf_cards_show_each_accounts_own_figures(portal, client):
    """Every SameSurf account's figures come from one query for all of them: each
    card still shows its own running rooms and its newest snapshot's rooms today."""
    from vendors.samesurf.models import SameSurfRoom, SameSurfUsage

    from .conftest import make_samesurf_account

    now = timezone.now()
    rooms = portal.samesurf
    make_samesurf_account(portal.reseller, "Quiet", "q")
    for i, running in enumerate([True, True, False]):  # + the fixture's running one
        SameSurfRoom.objects.create(
            account=rooms,
            external_id=f"r{i}",
            number="1",
            synced_at=now,
            is_running=running,
        )
    SameSurfRoom.objects.create(
        account=rooms,
        external_id="gone",
        number="1",
        synced_at=now,
        is_running=True,
        removed_at=now,
    )
    for minutes, today in [(30, 9), (10, 4), (20, 7)]:  # the newest says 4
        SameSurfUsage.objects.create(
            account=rooms,
            external_id=f"u{minutes}",
            synced_at=now,
            taken_at=now - timedelta(minutes=minutes),
            rooms_today=today,
        )
    client.force_login(portal.personas["manager"])
    found = cards(client.get(DASHBOARD).content.decode())

    def figure(card: str, label: str) -> str:
        hit = re.search(rf"<dt>{label}</dt><dd>(?:<a [^>]*>)?([^<]+)<", found[card])
        assert hit, f"no {label!r} on {card}"
        return hit.group(1)

    assert figure("Zebracorn Rooms", "Running rooms") == "3"
    assert figure("Zebracorn Rooms", "Rooms today") == "4"
    assert figure("Quiet", "Running rooms") == "0"
    assert figure("Quiet", "Rooms today") == "—"
