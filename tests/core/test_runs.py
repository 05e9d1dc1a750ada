"""The sync run log (filters, keyset pages, detail scoping) and what a rejected key
does to an account."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from html import unescape

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core.choices import AccountStatus, RunStatus, Trigger
from cobrowse_portal.core.models import SyncRun, VendorAccount
from cobrowse_portal.vendorkit.runs import execute_stream, queue_run

from .conftest import SECRET, SURFLY_URL, make_account, make_run

RUNS = reverse("core:run_list")
ROW = re.compile(r'<a href="/runs/(\d+)/">')
NEXT = re.compile(r'<a href="([^"]+)"[^>]*>Older')


def run_ids(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


@pytest.fixture
def manager(portal, client):
    client.force_login(portal.personas["manager"])
    return client


# --- filters --------------------------------------------------------------------------
def test_run_list_filters(manager, portal):
    second = make_account(portal.reseller, "Second desk")
    now = timezone.now()
    old = make_run(
        portal.account,
        "history",
        RunStatus.SUCCEEDED,
        queued_at=now - timedelta(days=10),
    )
    failed = make_run(second, "agents", RunStatus.FAILED, error="nope")
    ok = make_run(second, "live", RunStatus.SUCCEEDED)

    def ids(**params):
        return set(run_ids(manager.get(RUNS, params).content.decode()))

    everything = ids()
    assert {old.pk, failed.pk, ok.pk, portal.run.pk} <= everything
    assert portal.other_run.pk not in everything  # another workspace
    assert ids(account=second.pk) == {failed.pk, ok.pk}
    assert ids(stream="history") == {old.pk}
    assert ids(status="failed") == {failed.pk, portal.run.pk}
    assert ids(account=second.pk, status="failed") == {failed.pk}
    day = (now - timedelta(days=10)).date().isoformat()
    assert ids(since=day, until=day) == {old.pk}
    assert old.pk not in ids(since=(now - timedelta(days=1)).date().isoformat())


def test_filter_by_another_workspaces_account_is_refused(manager, portal):
    response = manager.get(RUNS, {"account": portal.other_account.pk})
    assert response.status_code == 200
    assert "account" in response.context["form"].errors
    assert portal.other_run.pk not in run_ids(response.content.decode())


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"since": "yesterday"},
        {"until": "2024-13-45"},
        {"account": "abc"},
        {"stream": "x" * 200},
    ],
)
def test_bad_filters_show_errors_not_500(manager, portal, params):
    response = manager.get(RUNS, params)
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()


def test_htmx_request_gets_only_the_results_fragment(manager, portal):
    html = manager.get(RUNS, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and "<table" in html
    assert "<html" in manager.get(RUNS).content.decode()


# --- keyset pagination ----------------------------------------------------------------
def test_keyset_pages_walk_every_run_once(manager, portal):
    SyncRun.objects.all().delete()
    base = timezone.now()
    SyncRun.objects.bulk_create(
        SyncRun(
            account=portal.account,
            stream="agents",
            status=RunStatus.SUCCEEDED,
            # pairs share a timestamp, so the id breaks ties
            queued_at=base - timedelta(minutes=i // 2),
        )
        for i in range(120)
    )
    expected = list(
        SyncRun.objects.order_by("-queued_at", "-pk").values_list("pk", flat=True)
    )
    seen, url, pages = [], RUNS, 0
    while url:
        html = manager.get(url if url.startswith("/") else RUNS + url).content.decode()
        seen += run_ids(html)
        match = NEXT.search(html)
        url = unescape(match.group(1)) if match else None
        pages += 1
        if pages == 1:
            assert len(seen) == 50 and url  # first page, with a next link
    assert pages == 3
    assert seen == expected  # every run exactly once, newest first


def test_next_link_keeps_the_filters(manager, portal):
    for _ in range(55):
        make_run(portal.account, "live", RunStatus.FAILED)
    html = manager.get(RUNS, {"status": "failed", "stream": "live"}).content.decode()
    next_url = unescape(NEXT.search(html).group(1))
    assert "status=failed" in next_url and "stream=live" in next_url
    page2 = manager.get(RUNS + next_url).content.decode()
    assert len(run_ids(page2)) == 5


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "!!!",
        _cursor("garbage|12"),
        _cursor("2024-01-01T00:00:00|x"),
        _cursor("2024-01-01T00:00:00+00:00|99999999999999999999999"),
        _cursor("|-5"),
        _cursor("\x00|1"),
    ],
)
def test_garbage_cursor_starts_from_the_top(manager, portal, after):
    response = manager.get(RUNS, {"after": after})
    assert response.status_code == 200
    assert portal.run.pk in run_ids(response.content.decode())


# --- detail ---------------------------------------------------------------------------
def test_run_detail(manager, portal):
    html = manager.get(
        reverse("core:run_detail", args=[portal.run.pk])
    ).content.decode()
    assert "boom at the vendor" in html and "Zebracorn Reseller Desk" in html


def test_run_detail_polls_while_running(manager, portal):
    run = make_run(portal.account, "live", RunStatus.RUNNING)
    html = manager.get(reverse("core:run_detail", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in html
    html = manager.get(
        reverse("core:run_detail", args=[portal.run.pk])
    ).content.decode()
    assert "hx-trigger" not in html


def test_run_detail_is_scoped_to_the_current_workspace(
    manager, portal, client_workspace
):
    assert (
        manager.get(reverse("core:run_detail", args=[portal.other_run.pk])).status_code
        == 404
    )
    client_run = make_run(make_account(client_workspace, "Client desk"))
    # The manager may open the client workspace, but not while in the reseller one.
    assert (
        manager.get(reverse("core:run_detail", args=[client_run.pk])).status_code == 404
    )
    manager.post(reverse("core:switch_workspace"), {"workspace": client_workspace.pk})
    assert (
        manager.get(reverse("core:run_detail", args=[client_run.pk])).status_code == 200
    )
    assert (
        manager.get(reverse("core:run_detail", args=[portal.run.pk])).status_code == 404
    )


def test_agents_do_not_see_the_run_log(portal, client):
    client.force_login(portal.personas["agent"])
    assert client.get(RUNS).status_code == 403
    assert (
        client.get(reverse("core:run_detail", args=[portal.run.pk])).status_code == 403
    )


# --- rejected credentials -------------------------------------------------------------
OPTIONS_URL = f"{SURFLY_URL}/company/options/"


def test_rejected_key_needs_attention_skips_runs_until_changed(portal, client):
    account = portal.account
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET, OPTIONS_URL, status=401, json={"detail": "Invalid API key."}
        )
        run = execute_stream(account.pk, "options", trigger=Trigger.SCHEDULED)
    account.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == "credentials rejected: Invalid API key."
    assert account.status == AccountStatus.NEEDS_ATTENTION
    assert account.status_message == "Invalid API key."

    # Later runs do not call the vendor at all (nothing registered: any call fails).
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        assert execute_stream(account.pk, "options") is None  # beat: no row
        queued = queue_run(account, "options", Trigger.MANUAL)  # "Sync now"
        skipped = execute_stream(
            account.pk, "options", trigger=Trigger.MANUAL, run_id=queued.pk
        )
        assert len(mock.calls) == 0
    assert skipped.status == RunStatus.SKIPPED
    assert "needs attention" in skipped.error

    # The pages say so.
    client.force_login(portal.personas["admin"])
    detail = client.get(
        reverse("core:account_detail", args=[account.pk])
    ).content.decode()
    assert "Needs attention" in detail and "paused until the credentials" in detail

    # New credentials in the form clear it, and the next run calls the vendor.
    client.post(
        reverse("core:account_edit", args=[account.pk]),
        {
            "name": account.name,
            "base_url": SURFLY_URL,
            "enabled": "on",
            "cred_api_key": "sfk-rotated-key-777",
        },
    )
    account.refresh_from_db()
    assert account.status == AccountStatus.NEW
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, OPTIONS_URL, json={"a": 1})
        run = execute_stream(account.pk, "options")
        assert "api_key=sfk-rotated-key-777" in mock.calls[0].request.url
    account.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and account.status == AccountStatus.OK
    assert account.last_synced_at == run.finished_at
    assert SECRET not in (run.error + account.status_message)


def test_a_vendor_outage_marks_the_account_failing_not_needs_attention(
    portal, settings
):
    settings.VENDOR_MAX_RETRIES = 0
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, OPTIONS_URL, status=503, body="busy")
        run = execute_stream(portal.account.pk, "options")
    account = VendorAccount.objects.get(pk=portal.account.pk)
    assert run.status == RunStatus.FAILED and "surfly answered 503" in run.error
    assert account.status == AccountStatus.FAILING
    # A failing (not rejected) account keeps syncing.
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, OPTIONS_URL, json={"a": 1})
        assert (
            execute_stream(portal.account.pk, "options").status == RunStatus.SUCCEEDED
        )
