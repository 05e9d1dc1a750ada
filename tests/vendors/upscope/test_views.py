"""Upscope pages with data and every action from the UI against the sandbox
over HTTP: the stored-visitor search in Upscope's token syntax (bad tokens said
next to the box), the live search, watch links (a page going on to the link; 402,
401, bad metadata as clear messages), stop ("requested", never "stopped"),
refresh, deletes with their confirmations, agent lookup, sessions (filters,
keyset pages), session detail, usage, and the Live board's End."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core.choices import AccountStatus
from cobrowse_portal.core.models import PendingWrite, VendorAccount
from tests.conftest import sandbox_account
from vendors.upscope.client import ONLINE_MESSAGE, QUOTA_MESSAGE
from vendors.upscope.models import (
    UpscopeAgent,
    UpscopeSession,
    UpscopeUsage,
    UpscopeVisitor,
)
from vendors.upscope.sandbox.models import CobrowsingSession, Visitor
from vendors.upscope.sandbox.seed import FULL_KEY, MAIN_KEY, STATE_KEYS
from vendors.upscope.webhooks import WEBHOOK_MARK

from .conftest import SANDBOX

HX = {"HTTP_HX_REQUEST": "true"}


def url(name, account, *args, query=""):
    return reverse(f"upscope:{name}", args=[account.pk, *args]) + query


def text(response) -> str:
    return response.content.decode()


def offline_account(workspace, name="Upscope desk") -> VendorAccount:
    account = VendorAccount(
        workspace=workspace,
        vendor="upscope",
        name=name,
        base_url="https://upscope.test/v1.3",
    )
    account.set_credentials({"api_key": "k-offline"})
    account.save()
    return account


def visitor(account, ext, **kw) -> UpscopeVisitor:
    fields = {"synced_at": timezone.now(), "last_seen_at": timezone.now()}
    fields.update(kw)
    return UpscopeVisitor.objects.create(account=account, external_id=ext, **fields)


def session(account, n, **kw) -> UpscopeSession:
    fields = {
        "external_id": f"s_{n}",
        "visitor_short_id": "v1",
        "agent_id": "u_1",
        "agent_name": "Alice Agent",
        "started_at": timezone.now() - timedelta(hours=n),
        "duration": 300,
        "synced_at": timezone.now(),
    }
    fields.update(kw)
    return UpscopeSession.objects.create(account=account, **fields)


# --- pages on stored data (no vendor call) ------------------------------------------
@pytest.fixture
def desk(reseller):
    return offline_account(reseller)


@pytest.fixture
def crowd(desk):
    return {
        "ana": visitor(
            desk,
            "v1",
            call_name="Ana Lima",
            email="ana@example.com",
            unique_id="cust-1",
            tags=["#VIP", "#CHECKOUT"],
            integration_ids=["intercom:1001"],
            ip_address="203.0.113.10",
            lookup_code="1234",
            location_city="London",
            is_online=True,
        ),
        "sam": visitor(
            desk,
            "v2",
            call_name="Sam Patel",
            identities=["sam@example.org"],
            tags=["#TRIAL"],
            lookup_code="2345",
            is_online=True,
        ),
        "jo": visitor(desk, "v3", call_name="Jo Chen", tags=["#VIP"], is_online=False),
    }


@pytest.mark.parametrize(
    "query, names",
    [
        ("", ["Ana Lima", "Sam Patel", "Jo Chen"]),
        ("online", ["Ana Lima", "Sam Patel"]),
        ("-online", ["Jo Chen"]),
        ("#VIP", ["Ana Lima", "Jo Chen"]),
        ("online #VIP", ["Ana Lima"]),
        ("2345", ["Sam Patel"]),
        ("id:cust-1", ["Ana Lima"]),
        ("ip:203.0.113.10", ["Ana Lima"]),
        ("sam@example.org", ["Sam Patel"]),
        ("integration_id:intercom:1001", ["Ana Lima"]),
        ("london", ["Ana Lima"]),
        ("chen", ["Jo Chen"]),
    ],
)
def test_the_stored_visitors_search_speaks_upscopes_syntax(
    crowd, desk, login, personas, query, names
):
    c = login(personas["agent"])
    r = c.get(url("visitors", desk), {"q": query})
    assert r.status_code == 200
    body = text(r)
    for name in ["Ana Lima", "Sam Patel", "Jo Chen"]:
        assert (name in body) == (name in names), (query, name)


def test_a_search_too_long_is_refused_next_to_the_box(crowd, desk, login, personas):
    r = login(personas["agent"]).get(url("visitors", desk), {"q": "x" * 201})
    assert r.status_code == 422 and "at most 200 characters" in text(r)
    assert "Ana Lima" not in text(r)


@pytest.mark.parametrize("query", ["#vip", "integration_id:IC:1", "#"])
def test_a_token_upscope_could_never_match_is_said_next_to_the_box(
    crowd, desk, login, personas, query
):
    r = login(personas["agent"]).get(url("visitors", desk), {"q": query})
    assert r.status_code == 422
    assert "upper-case" in text(r) or "name:id" in text(r)
    assert "Ana Lima" not in text(r)


def test_the_visitors_table_polls_itself_and_explains_the_syntax(
    crowd, desk, login, personas
):
    c = login(personas["agent"])
    page = text(c.get(url("visitors", desk), {"q": "online"}))
    assert 'hx-trigger="every 10s"' in page
    assert f'hx-get="{url("visitors", desk)}?q=online"' in page
    assert "integration_id:intercom:1001" in page and "Search at Upscope" in page
    fragment = c.get(url("visitors", desk), {"q": "online"}, **HX)
    assert text(fragment).lstrip().startswith('<div id="visitors-table"')
    # Only admins are offered the delete-all.
    assert "Delete all offline visitors" not in page
    admin = login(personas["admin"]).get(url("visitors", desk))
    assert "Delete all offline visitors" in text(admin)


def test_visitor_detail_shows_its_sessions_and_the_actions(
    crowd, desk, login, personas
):
    session(desk, 1, is_ongoing=True, duration=None)
    session(desk, 2)
    session(desk, 3, visitor_short_id="v2")
    r = login(personas["agent"]).get(url("visitor_detail", desk, crowd["ana"].pk))
    body = text(r)
    assert r.status_code == 200
    assert "s_1" in body and "s_2" in body and "s_3" not in body
    assert 'id="watch-button"' in body and 'id="stop-button"' in body
    assert "Delete visitor" not in body  # admins only
    assert f"portal-user-{personas['agent'].pk}" in body  # the agent named
    other = offline_account(personas["outsider"].memberships.get().workspace, "X")
    foreign = visitor(other, "v9")
    assert (
        login(personas["agent"])
        .get(url("visitor_detail", desk, foreign.pk))
        .status_code
        == 404
    )


def test_sessions_history_filters_and_pages(desk, login, personas):
    for n in range(1, 56):
        session(desk, n, visitor_short_id="v1" if n % 2 else "v2")
    session(
        desk,
        99,
        is_ongoing=True,
        duration=None,
        agent_id="u_9",
        started_at=timezone.now(),
    )
    c = login(personas["manager"])
    first = c.get(url("sessions", desk))
    assert first.status_code == 200 and "Older" in text(first)
    assert "s_99" in text(first)
    assert "s_55" not in text(first)  # the 51st newest: on the next page
    page = first.context["page"]
    nxt = page.next_url
    second = c.get(nxt if nxt.startswith("/") else url("sessions", desk) + nxt)
    assert "s_55" in text(second)
    ongoing = text(c.get(url("sessions", desk), {"status": "ongoing"}))
    assert "s_99" in ongoing and "s_1<" not in ongoing
    by_agent = c.get(url("sessions", desk), {"agent": "u_9"}, **HX)
    assert "s_99" in text(by_agent) and "s_2<" not in text(by_agent)
    by_visitor = text(
        c.get(url("sessions", desk), {"visitor": "v2", "status": "ended"})
    )
    assert "s_2<" in by_visitor and "s_3<" not in by_visitor
    bad = c.get(url("sessions", desk), {"status": "bogus", "after": "!!"})
    assert bad.status_code == 200


def test_session_detail_and_usage(desk, login, personas):
    s = session(desk, 1, metadata={"ticket": "T-7"}, features_used=["click"])
    UpscopeUsage.objects.create(
        account=desk,
        external_id="2026-12-01T21",
        taken_at=timezone.now(),
        sessions_now=2,
        visitors_online_now=40,
        session_seconds_today=5400,
        synced_at=timezone.now(),
    )
    c = login(personas["manager"])
    detail = text(c.get(url("session_detail", desk, s.pk)))
    assert "T-7" in detail and "Alice Agent" in detail and "5 min" in detail
    usage = text(c.get(url("usage", desk)))
    assert "40" in usage and "1 h 30 min" in usage
    empty = offline_account(desk.workspace, "Empty desk")
    assert "No usage figures yet" in text(c.get(url("usage", empty)))


# --- actions against the sandbox ------------------------------------------------------
@pytest.fixture
def live(reseller, sandbox, live_server):
    return sandbox_account(reseller, live_server.url, vendor="upscope")


def keyed(reseller, live_server, key) -> VendorAccount:
    return sandbox_account(
        reseller, live_server.url, vendor="upscope", key=key, name=f"Upscope {key}"
    )


def find(c, account, query) -> dict:
    r = c.post(url("visitors_search", account), {"q": query}, **HX)
    assert r.status_code == 200
    return {v.external_id: v for v in r.context["found"]}


@SANDBOX
def test_the_live_search_stores_and_shows_what_upscope_finds(live, login, personas):
    c = login(personas["agent"])
    r = c.post(url("visitors_search", live), {"q": "id:cust-0001"}, **HX)
    assert r.status_code == 200
    assert "Found at Upscope" in text(r) and "Ana Lima" in text(r)
    assert UpscopeVisitor.objects.filter(account=live, external_id="v0001").exists()
    # From then on the stored search has it too, without calling Upscope.
    assert "Ana Lima" in text(c.get(url("visitors", live), {"q": "1234"}))
    nobody = c.post(url("visitors_search", live), {"q": "id:nobody"})
    assert "Upscope found no visitor" in text(nobody)


@SANDBOX
def test_watch_sends_the_agent_on_to_the_link_with_their_choices(
    live, login, personas, live_server
):
    c = login(personas["agent"])
    jo = find(c, live, "id:cust-0003")["v0003"]
    r = c.post(
        url("visitor_watch", live, jo.pk),
        {
            "naked": "true",
            "perm_allow_console": "on",
            "perm_allow_click": "on",
            "metadata": "ticket=T-5\nvip=true",
        },
    )
    # A page that goes on to the link at once (a meta refresh: the CSP's
    # form-action stops a redirect to another host), never cached.
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    link = re.search(
        r'content="0;url=(https://cobrowsingapi\.com/session/[^"]+)"', text(r)
    )
    assert link and f'href="{link.group(1)}"' in text(r)
    s = CobrowsingSession.objects.get(
        account__api_key=MAIN_KEY, visitor_short_id="v0003", ended_at__isnull=True
    )
    assert s.agents[0]["agent_identifier"] == f"portal-user-{personas['agent'].pk}"
    assert s.metadata == {"ticket": "T-5", "vip": True, WEBHOOK_MARK: True}
    assert s.options["branding"] == {"naked": True}
    # Unticked boxes are the defaults turned off; only changes are sent.
    assert s.options["permissions"]["allow_console"] is True
    assert s.options["permissions"]["allow_draw"] is False
    assert "allow_click" not in s.options["permissions"]
    account_hooks = f"/hooks/{live.pk}/{live.webhook_token}/"
    # The receiver on the host the agent uses (the test client's here).
    assert s.webhook_url == f"http://testserver{account_hooks}"


@SANDBOX
def test_watch_refusals_are_clear_and_keep_the_input(
    live, reseller, login, personas, live_server
):
    c = login(personas["agent"])
    jo = find(c, live, "id:cust-0003")["v0003"]
    bad = c.post(url("visitor_watch", live, jo.pk), {"metadata": "no equals sign"})
    assert bad.status_code == 422
    assert "Line 1: write key=value" in text(bad)
    assert "no equals sign" in text(bad)  # kept
    full = keyed(reseller, live_server, FULL_KEY)
    someone = find(c, full, "")
    quota = c.post(url("visitor_watch", full, next(iter(someone.values())).pk), {})
    assert quota.status_code == 422 and QUOTA_MESSAGE in text(quota)
    Visitor.objects.filter(account__api_key=MAIN_KEY, short_id="v0003").delete()
    gone = c.post(url("visitor_watch", live, jo.pk), {})
    assert gone.status_code == 422 and "Upscope has no visitor v0003" in text(gone)


@SANDBOX
def test_a_401_says_what_is_wrong_and_marks_the_account(
    reseller, sandbox, login, personas, live_server
):
    blocked = keyed(reseller, live_server, STATE_KEYS["api_not_enabled"])
    r = login(personas["agent"]).post(url("visitors_search", blocked), {"q": "online"})
    assert r.status_code == 422
    assert "does not include the REST API" in text(r)
    blocked.refresh_from_db()
    assert blocked.status == AccountStatus.NEEDS_ATTENTION


@SANDBOX
def test_stop_says_requested_and_refresh_confirms_the_end(live, login, personas):
    c = login(personas["agent"])
    jo = find(c, live, "id:cust-0003")["v0003"]
    c.post(url("visitor_watch", live, jo.pk), {})
    c.post(url("visitor_refresh", live, jo.pk))
    running = UpscopeSession.objects.get(
        account=live, visitor_short_id="v0003", is_ongoing=True
    )
    r = c.post(url("visitor_stop", live, jo.pk), follow=True)
    said = [str(m) for m in r.context["messages"]]
    assert said[-1].startswith("Stop requested; Upscope does not confirm")
    assert not any("stopped" in m.lower() for m in said)
    running.refresh_from_db()
    assert running.is_ongoing
    r = c.post(url("visitor_refresh", live, jo.pk), follow=True)
    running.refresh_from_db()
    assert not running.is_ongoing
    assert "refreshed from Upscope" in text(r)
    # Once ended, the End action says so and asks Upscope nothing.
    again = c.post(url("session_stop", live, running.pk), follow=True)
    assert "already ended" in text(again)


@SANDBOX
def test_the_live_board_ends_an_upscope_session_through_its_stop(live, login, personas):
    c = login(personas["agent"])
    jo = find(c, live, "id:cust-0003")["v0003"]
    c.post(url("visitor_watch", live, jo.pk), {})
    c.post(url("visitor_refresh", live, jo.pk))
    running = UpscopeSession.objects.get(
        account=live, visitor_short_id="v0003", is_ongoing=True
    )
    board = text(c.get(reverse("core:live")))
    assert url("session_stop", live, running.pk) in board
    r = c.post(url("session_stop", live, running.pk), {"next": "/live/"})
    assert r.status_code == 302 and r["Location"] == "/live/"
    assert not CobrowsingSession.objects.filter(
        account__api_key=MAIN_KEY, visitor_short_id="v0003", ended_at__isnull=True
    ).exists()


@SANDBOX
def test_delete_a_visitor_needs_an_admin_and_a_confirmation(live, login, personas):
    c = login(personas["admin"])
    found = find(c, live, "id:cust-0003")
    found.update(find(c, live, "id:cust-0001"))
    jo, ana = found["v0003"], found["v0001"]
    ask = c.get(url("visitor_delete", live, jo.pk))
    assert "Upscope deletes Jo Chen entirely" in text(ask)
    unconfirmed = c.post(url("visitor_delete", live, jo.pk), {})
    assert unconfirmed.status_code == 422
    assert Visitor.objects.filter(account__api_key=MAIN_KEY, short_id="v0003").exists()
    online = c.post(url("visitor_delete", live, ana.pk), {"confirm": "on"}, follow=True)
    assert ONLINE_MESSAGE in text(online)
    done = c.post(url("visitor_delete", live, jo.pk), {"confirm": "on"}, follow=True)
    assert "deleted at Upscope" in text(done)
    assert not Visitor.objects.filter(
        account__api_key=MAIN_KEY, short_id="v0003"
    ).exists()
    forbidden = login(personas["manager"]).post(
        url("visitor_delete", live, ana.pk), {"confirm": "on"}
    )
    assert forbidden.status_code == 403


@SANDBOX
def test_delete_all_offline_says_what_upscope_deletes(live, login, personas):
    c = login(personas["admin"])
    find(c, live, "id:cust-0003")
    ask = text(c.get(url("visitors_delete_offline", live)))
    assert "every visitor who is not online" in ask and "cannot be undone" in ask
    assert c.post(url("visitors_delete_offline", live), {}).status_code == 422
    before = Visitor.objects.filter(account__api_key=MAIN_KEY).count()
    r = c.post(url("visitors_delete_offline", live), {"confirm": "on"}, follow=True)
    assert "Upscope is deleting every offline visitor" in text(r)
    assert Visitor.objects.filter(account__api_key=MAIN_KEY).count() < before
    assert Visitor.objects.filter(account__api_key=MAIN_KEY, short_id="v0001").exists()


@SANDBOX
def test_agent_lookup_form(live, login, personas):
    c = login(personas["manager"])
    both = c.post(url("agents", live), {"email": "a@b.test", "external_id": "x"})
    assert both.status_code == 422 and "not both" in text(both)
    neither = c.post(url("agents", live), {})
    assert neither.status_code == 422
    missing = c.post(url("agents", live), {"email": "nobody@acme.test"})
    assert missing.status_code == 422
    assert "Upscope has no agent with e-mail nobody@acme.test" in text(missing)
    found = c.post(url("agents", live), {"external_id": "ext-frank"}, follow=True)
    assert "Frank External" in text(found)
    assert UpscopeAgent.objects.filter(account=live, agent_identifier="ext-frank")


@SANDBOX
def test_onpremise_token_is_shown_once(live, reseller, login, personas, live_server):
    c = login(personas["agent"])
    ana = find(c, live, "id:cust-0001")["v0001"]
    r = c.post(url("visitor_onpremise", live, ana.pk))
    assert r.status_code == 200 and 'id="onpremise-value"' in text(r)
    full = keyed(reseller, live_server, FULL_KEY)
    someone = next(iter(find(c, full, "").values()))
    refused = c.post(url("visitor_onpremise", full, someone.pk))
    assert refused.status_code == 422 and "subscription limits" in text(refused)


# --- Upscope away: idempotent writes are kept, nothing typed is lost ---------------
def test_stop_and_delete_are_kept_when_upscope_is_away(crowd, desk, login, personas):
    c = login(personas["admin"])
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        # No URL registered: every call is a connection error.
        r = c.post(url("visitor_stop", desk, crowd["ana"].pk), follow=True)
        said = " ".join(str(m) for m in r.context["messages"])
        assert "Upscope is not answering right now" in said
        assert "Stop requested" not in said
        r = c.post(url("visitors_delete_offline", desk), {"confirm": "on"}, follow=True)
        assert "will be retried automatically" in text(r)
        watch = c.post(url("visitor_watch", desk, crowd["ana"].pk), {"metadata": "a=1"})
        assert watch.status_code == 200 and "a=1" in text(watch)
        assert "not answering" in text(watch)
    kept = PendingWrite.objects.filter(account=desk).order_by("pk")
    assert [w.action for w in kept] == [
        "vendors.upscope.services.stop_session",
        "vendors.upscope.services.delete_offline_visitors",
    ]
    assert UpscopeVisitor.objects.get(pk=crowd["ana"].pk).removed_at is None
