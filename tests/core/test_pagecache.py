"""The control room's kept pages (core.pagecache): a write of each kind is on the
next page view, keys never mix workspaces, roles or parameters, and the shell and
CSRF tokens are never kept. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.middleware.csrf import _unmask_cipher_token
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core import pagecache
from cobrowse_portal.core.choices import Role, RunStatus, WriteStatus
from cobrowse_portal.core.directory import link_agent, unlink_agent
from cobrowse_portal.core.models import (
    AgentIdentity,
    PendingWrite,
    SyncRun,
    VendorAgent,
    Workspace,
)
from cobrowse_portal.vendorkit import activity as index
from cobrowse_portal.vendorkit.bulk import mark_removed, upsert
from tests.conftest import make_user
from vendors.surfly.models import CobrowseSession, SurflyAgent

from .conftest import make_account, make_run
from .test_activity_index import deliver, session, surfly_agent

DASHBOARD, LIVE = reverse("core:dashboard"), reverse("core:live")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')
HEADER = re.compile(r'"X-CSRFToken": "([A-Za-z0-9]{64})"')


@pytest.fixture
def desk(reseller):
    return make_account(reseller, "Front desk")


@pytest.fixture
def manager(client, personas):
    client.force_login(personas["manager"])
    return personas["manager"]


def page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def generation(workspace) -> int:
    return Workspace.objects.get(pk=workspace.pk).index_generation


def now_session(i, **extra):
    return session(i, start=timezone.now() - timedelta(minutes=5), **extra)


# --- a kept page's answer -------------------------------------------------------------
def test_a_kept_page_costs_three_statements_with_its_own_shell_and_token(
    desk, manager, client
):
    upsert(CobrowseSession, desk, [now_session(1)])
    url = reverse("surfly:history", args=[desk.pk])
    first = page(client, url)
    with CaptureQueriesContext(connection) as ctx:
        second = page(client, url)
    # The session, the user with their workspaces (and the generation), the
    # workspace's accounts (the sidebar's): nothing of the page itself.
    assert len(ctx.captured_queries) == 3, [q["sql"] for q in ctx.captured_queries]
    assert "100-200-001" in second and "\x00" not in second
    assert 'id="workspace-switcher"' in second and "max · manager" in second
    tokens = TOKEN.findall(second) + HEADER.findall(second)
    assert len(tokens) >= 3  # the page's own forms, the shell's, the htmx header
    secret = client.cookies["csrftoken"].value
    assert all(_unmask_cipher_token(t) == secret for t in tokens)
    assert set(tokens).isdisjoint(TOKEN.findall(first) + HEADER.findall(first))
    strip = lambda html: HEADER.sub("", TOKEN.sub("", html))  # noqa: E731
    assert strip(first) == strip(second)


def test_another_user_of_the_same_role_gets_their_own_shell_and_token(
    desk, reseller, manager, client, monkeypatch
):
    # Live is kept per second: hold pagecache's wall clock so both views fall in the
    # same bucket (CI once crossed a second between them and missed).
    frozen = time.time()
    monkeypatch.setattr(
        pagecache,
        "time",
        SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic),
    )
    upsert(CobrowseSession, desk, [now_session(1, duration=None)])
    url = reverse("surfly:live", args=[desk.pk])
    kept = page(client, url)
    max_tokens = set(TOKEN.findall(kept) + HEADER.findall(kept))
    mia = make_user("mia", reseller, Role.MANAGER)
    client.logout()
    client.force_login(mia)
    with CaptureQueriesContext(connection) as ctx:
        html = page(client, url)
    assert "mia · manager" in html and "max · manager" not in html
    assert "100-200-001" in html
    tokens = set(TOKEN.findall(html) + HEADER.findall(html))
    assert tokens and tokens.isdisjoint(max_tokens)
    assert all(
        _unmask_cipher_token(t) == client.cookies["csrftoken"].value for t in tokens
    )
    assert pagecache.stats["hits"] >= 1 and len(ctx.captured_queries) <= 3


# --- every write is on the next view --------------------------------------------------
def test_bulk_upserts_and_removals_are_on_the_next_view(desk, manager, client):
    upsert(CobrowseSession, desk, [now_session(1, duration=None)])
    history = reverse("surfly:history", args=[desk.pk])
    surfly_live = reverse("surfly:live", args=[desk.pk])
    activity = reverse("core:activity")
    for url in (history, surfly_live, LIVE, activity):
        assert "100-200-001" in page(client, url) or "Visitor 1" in page(client, url)
    upsert(CobrowseSession, desk, [now_session(1, duration=None), now_session(2)])
    assert "100-200-002" in page(client, history)
    assert "Visitor 2" in page(client, activity)
    # Removed (a full listing without it): gone from both Live boards at once.
    mark_removed(CobrowseSession, desk, {"s2"})
    assert "100-200-001" not in page(client, surfly_live)
    assert "Visitor 1" not in page(client, LIVE)
    assert "100-200-001" not in page(client, history)


def test_webhook_applied_changes_are_on_the_next_view(desk, manager, client):
    assert "Visitor w" not in page(client, LIVE)
    before = generation(desk.workspace)
    deliver(
        desk,
        1,
        "session.started",
        start_time=timezone.now().isoformat(),
        meta={"name": "Visitor w"},
    )
    assert generation(desk.workspace) > before
    assert CobrowseSession.objects.filter(external_id="w1", is_active=True).exists()
    assert "w1" in page(client, reverse("surfly:live", args=[desk.pk])) or (
        CobrowseSession.objects.get(external_id="w1").formatted_id
        in page(client, reverse("surfly:live", args=[desk.pk]))
    )
    live = page(client, LIVE)
    deliver(desk, 2, "session.ended", end_time=timezone.now().isoformat())
    assert page(client, LIVE) != live  # no longer live


def test_agent_directory_and_rollup_writes_are_on_the_next_view(desk, manager, client):
    upsert(SurflyAgent, desk, [surfly_agent("7", "ann@example.com", name="Ann")])
    upsert(SurflyAgent, desk, [surfly_agent("8", "bob@example.com", name="Bob")])
    agents = reverse("core:agents")
    surfly_agents = reverse("surfly:agents", args=[desk.pk])
    first, vendor_page = page(client, agents), page(client, surfly_agents)
    assert "Bob" in first and "Bob" in vendor_page
    # A manager's link by hand: Bob's row joins Ann's person.
    ann = AgentIdentity.objects.get(email="ann@example.com")
    bob = VendorAgent.objects.get(external_id="8")
    link_agent(bob, ann)
    linked = page(client, agents)
    assert linked != first
    unlink_agent(VendorAgent.objects.get(external_id="8"))
    assert page(client, agents) not in (linked,)
    # Renamed at the vendor (a sync of the agents): the vendor's own page shows it.
    upsert(SurflyAgent, desk, [surfly_agent("8", "bob@example.com", name="Robert")])
    assert "Robert" in page(client, surfly_agents)
    # The vendor's own usage figures and a rebuild move the generation too.
    before = generation(desk.workspace)
    index.record_vendor_usage(desk, timezone.localdate(), {"visitors": 3})
    after = generation(desk.workspace)
    assert after > before
    index.rebuild(desk)
    assert generation(desk.workspace) > after


def test_sync_runs_kept_writes_and_account_edits_are_on_the_next_dashboard(
    desk, manager, client
):
    html = page(client, DASHBOARD)
    assert "boom-xyz" not in html and "Changes waiting" not in html
    run = make_run(desk, status=RunStatus.FAILED, error="boom-xyz")  # a trigger
    assert "boom-xyz" in page(client, DASHBOARD)
    SyncRun.objects.filter(pk=run.pk).update(error="boom-again")  # no signal at all
    assert "boom-again" in page(client, DASHBOARD)
    write = PendingWrite.objects.create(
        account=desk, action="vendors.surfly.services.x", description="rename"
    )
    assert "Changes waiting" in page(client, DASHBOARD)
    PendingWrite.objects.filter(pk=write.pk).update(status=WriteStatus.SUCCEEDED)
    assert "Changes waiting" not in page(client, DASHBOARD)
    desk.name = "Renamed desk"
    desk.save()
    assert "Renamed desk" in page(client, DASHBOARD)


def test_a_rolled_back_write_leaves_the_generation_and_the_page(desk, manager, client):
    url = reverse("surfly:history", args=[desk.pk])
    kept, before = page(client, url), generation(desk.workspace)
    with pytest.raises(RuntimeError), transaction.atomic():
        upsert(CobrowseSession, desk, [now_session(3)])
        assert generation(desk.workspace) == before + 1  # in the same transaction
        raise RuntimeError("the vendor write failed")
    assert generation(desk.workspace) == before
    assert "100-200-003" not in page(client, url)
    strip = lambda html: HEADER.sub("", TOKEN.sub("", html))  # noqa: E731
    assert strip(page(client, url)) == strip(kept)


def test_saving_a_workspace_never_sets_its_generation_back(desk):
    stale = Workspace.objects.get(pk=desk.workspace_id)
    upsert(CobrowseSession, desk, [now_session(4)])
    moved = generation(stale)
    assert moved > stale.index_generation
    stale.name = "Zebracorn (renamed)"
    stale.save()
    assert generation(stale) == moved


# --- keys -----------------------------------------------------------------------------
def test_keys_never_mix_workspaces_roles_or_parameters(
    desk, other_workspace, personas, client
):
    make_account(other_workspace, "Initech only desk")
    upsert(CobrowseSession, desk, [now_session(1), now_session(2, duration=None)])
    make_run(desk, status=RunStatus.FAILED, error="reseller-run-failed")
    client.force_login(personas["manager"])
    mine = page(client, DASHBOARD)
    assert "Front desk" in mine and "reseller-run-failed" in mine
    client.force_login(personas["agent"])  # the same workspace, a lesser role
    agent = page(client, DASHBOARD)
    assert "Front desk" in agent and "reseller-run-failed" not in agent
    client.force_login(personas["outsider"])  # another workspace
    theirs = page(client, DASHBOARD)
    assert "Initech only desk" in theirs and "Front desk" not in theirs
    assert "Visitor 1" not in page(client, LIVE)
    client.force_login(personas["manager"])
    activity = reverse("core:activity")
    every = page(client, activity)
    assert "Visitor 1" in every and "Visitor 2" in every
    live_only = page(client, activity, status="live")
    assert "Visitor 2" in live_only and "Visitor 1" not in live_only
    # htmx asks the same URL for its fragment: not the kept full page.
    fragment = client.get(LIVE, headers={"HX-Request": "true"}).content.decode()
    page(client, LIVE)
    assert "<html" not in fragment
    assert "<html" in page(client, LIVE)
    again = client.get(LIVE, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in again


def test_pages_with_running_times_are_kept_within_their_bucket_only(
    desk, manager, client, monkeypatch
):
    upsert(CobrowseSession, desk, [now_session(1, duration=None)])
    url = reverse("surfly:live", args=[desk.pk])
    clock = [1_000_000.2]
    monkeypatch.setattr(pagecache.time, "time", lambda: clock[0])
    page(client, url)
    hits = pagecache.stats["hits"]
    page(client, url)
    assert pagecache.stats["hits"] == hits + 1  # the same second: kept
    clock[0] += 1
    page(client, url)
    assert pagecache.stats["hits"] == hits + 1  # the next second: rendered


def test_flash_messages_posts_and_the_switch_bypass_the_store(
    desk, manager, client, settings
):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory

    request = RequestFactory().get(DASHBOARD)
    request.user, request.workspace, request.role = manager, desk.workspace, "manager"
    request.session = client.session
    request._messages = FallbackStorage(request)
    assert pagecache.page_key(request, "v", (), {}, None) is not None
    request._messages.add(20, "Saved.")
    assert pagecache.page_key(request, "v", (), {}, None) is None
    post = RequestFactory().post(DASHBOARD)
    post.user, post.workspace, post.role = manager, desk.workspace, "manager"
    assert pagecache.page_key(post, "v", (), {}, None) is None
    settings.PAGE_CACHE = False
    page(client, DASHBOARD)
    with CaptureQueriesContext(connection) as ctx:
        page(client, DASHBOARD)
    assert len(ctx.captured_queries) > 3  # rendered again
