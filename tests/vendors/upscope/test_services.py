"""Upscope services against the sandbox over HTTP: a live search stores what it
finds, a watch link names the agent and the account's receiver, stop is never
a confirmation (the end is stored only when Upscope reports it), deletes,
agent lookup, the on-premise token, and Upscope's refusals (401 codes mark the
account, 402, 404, 409) in clear words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory, override_settings
from django.utils import timezone

from cobrowse_portal.core.choices import AccountStatus, ActivityStatus
from cobrowse_portal.core.models import Activity, VendorAccount, VendorAgent
from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.webhooks import receiver_url
from tests.conftest import make_user, sandbox_account
from vendors.upscope import services
from vendors.upscope.client import ONLINE_MESSAGE, QUOTA_MESSAGE
from vendors.upscope.models import UpscopeAgent, UpscopeSession, UpscopeVisitor
from vendors.upscope.sandbox.models import CobrowsingSession, Visitor
from vendors.upscope.sandbox.seed import FULL_KEY, MAIN_KEY, STATE_KEYS
from vendors.upscope.schemas import Session
from vendors.upscope.schemas import Visitor as VisitorPayload
from vendors.upscope.webhooks import WEBHOOK_MARK

from .conftest import SANDBOX

pytestmark = SANDBOX


@pytest.fixture
def account(reseller, sandbox, live_server) -> VendorAccount:
    return sandbox_account(reseller, live_server.url, vendor="upscope")


def keyed(reseller, live_server, key) -> VendorAccount:
    return sandbox_account(
        reseller, live_server.url, vendor="upscope", key=key, name=f"Upscope {key}"
    )


def stored(account, short_id) -> UpscopeVisitor:
    found = services.search_visitors(account, f"id:cust-{short_id[1:]}")
    assert [v.external_id for v in found] == [short_id]
    return found[0]


def watch(account, visitor, url="https://portal.example/hooks/1/tok/", **kw):
    return services.start_watch(
        account,
        visitor,
        agent_id=kw.pop("agent_id", "portal-user-1"),
        agent_name=kw.pop("agent_name", "Max Manager"),
        webhook_url=url,
        **kw,
    )


# --- live search ------------------------------------------------------------------
def test_a_live_search_stores_the_visitors_found_and_their_sessions(account):
    found = services.search_visitors(account, "online #VIP")
    assert "v0001" in [v.external_id for v in found]
    assert all(v.is_online and "#VIP" in v.tags for v in found)
    ana = UpscopeVisitor.objects.get(account=account, external_id="v0001")
    assert ana.is_online and ana.label == "Ana Lima" and "#VIP" in ana.tags
    assert ana.lookup_code == "1234" and "sessions" not in ana.raw
    own = UpscopeSession.objects.filter(account=account, visitor_short_id="v0001")
    sandbox_count = CobrowsingSession.objects.filter(
        account__api_key=MAIN_KEY, visitor_short_id="v0001"
    ).count()
    assert own.count() == min(50, sandbox_count)
    # The visitor's name and tags are on its sessions, and so in the index.
    if sandbox_count:
        assert set(own.values_list("visitor_label", flat=True)) == {"Ana Lima"}
        assert Activity.objects.filter(account=account, visitor="Ana Lima").exists()


def test_a_live_search_that_finds_nobody_stores_nothing(account):
    assert services.search_visitors(account, "id:nobody-at-all") == []
    assert not UpscopeVisitor.objects.filter(account=account).exists()


# --- watch links ------------------------------------------------------------------
def test_a_watch_link_names_the_agent_the_receiver_and_the_choices(account):
    visitor = stored(account, "v0003")
    before = UpscopeSession.objects.filter(account=account).count()
    link = watch(
        account,
        visitor,
        naked="page_only",
        permissions={"allow_console": True, "allow_draw": False},
        metadata={"ticket": "T-1", "vip": True},
        initial_notes="Check the cart",
    )
    assert link.watch_url.startswith("https://") and link.expires_at
    s = CobrowsingSession.objects.get(
        account__api_key=MAIN_KEY, visitor_short_id="v0003", ended_at__isnull=True
    )
    assert s.webhook_url == "https://portal.example/hooks/1/tok/"
    assert s.agents[0]["agent_identifier"] == "portal-user-1"
    assert s.agents[0]["name"] == "Max Manager"
    # The portal marks the sessions whose end it asked to be posted
    # (webhook-versus-poll reconciliation: `webhooks.expects_post`).
    assert s.metadata == {"ticket": "T-1", "vip": True, WEBHOOK_MARK: True}
    assert s.options["branding"] == {"naked": "page_only"}
    assert s.options["permissions"] == {"allow_console": True, "allow_draw": False}
    assert s.options["initial_notes"] == "Check the cart"
    # Upscope's answer names no session: nothing is stored until it reports one.
    assert UpscopeSession.objects.filter(account=account).count() == before


def test_a_watch_link_over_the_plan_is_a_quota_message(reseller, sandbox, live_server):
    full = keyed(reseller, live_server, FULL_KEY)
    visitor = services.search_visitors(full, "")[0]
    with pytest.raises(errors.QuotaExceeded) as caught:
        watch(full, visitor)
    assert caught.value.user_message() == QUOTA_MESSAGE


def test_a_watch_link_for_a_visitor_upscope_no_longer_has(account):
    visitor = stored(account, "v0003")
    Visitor.objects.filter(account__api_key=MAIN_KEY, short_id="v0003").delete()
    with pytest.raises(errors.NotFound) as caught:
        watch(account, visitor)
    assert "Upscope has no visitor v0003" in caught.value.user_message()


@pytest.mark.parametrize("state", sorted(STATE_KEYS))
def test_each_401_code_puts_the_account_in_needs_attention_with_its_words(
    reseller, sandbox, live_server, state
):
    blocked = keyed(reseller, live_server, STATE_KEYS[state])
    with pytest.raises(errors.AuthError) as caught:
        services.search_visitors(blocked, "online")
    blocked.refresh_from_db()
    assert blocked.status == AccountStatus.NEEDS_ATTENTION
    assert blocked.status_message == caught.value.user_message()
    words = {
        "no_subscription": "no active subscription",
        "api_not_enabled": "does not include the REST API",
        "please_contact_team": "Contact Upscope's team",
    }
    assert words[state] in blocked.status_message


# --- stop -------------------------------------------------------------------------
def test_stop_is_a_request_and_the_end_is_stored_when_upscope_reports_it(
    account, receiver
):
    url, received = receiver
    visitor = stored(account, "v0003")
    watch(account, visitor, url=url)
    services.refresh_visitor(account, visitor)
    running = UpscopeSession.objects.get(
        account=account, visitor_short_id="v0003", is_ongoing=True
    )
    act = Activity.objects.get(account=account, external_id=running.external_id)
    assert act.status == ActivityStatus.LIVE

    answer = services.stop_session(account, visitor)
    assert answer.confirmed is False
    running.refresh_from_db()
    assert running.is_ongoing  # not on Upscope's "ok" alone
    assert len(received) == 1  # the sandbox posted the session's end
    assert received[0]["body"]["id"] == running.external_id

    services.refresh_visitor(account, visitor)  # Upscope now reports it ended
    running.refresh_from_db()
    assert not running.is_ongoing and running.ended_at is not None
    act.refresh_from_db()
    assert act.status == ActivityStatus.ENDED


def test_stop_from_a_session_stops_its_visitor(account):
    visitor = stored(account, "v0003")
    watch(account, visitor)
    services.refresh_visitor(account, visitor)
    session = UpscopeSession.objects.get(
        account=account, visitor_short_id="v0003", is_ongoing=True
    )
    services.stop_session(account, session)
    assert not CobrowsingSession.objects.filter(
        account__api_key=MAIN_KEY, visitor_short_id="v0003", ended_at__isnull=True
    ).exists()


def test_stopping_an_unknown_visitor_says_so(account):
    visitor = stored(account, "v0003")
    Visitor.objects.filter(account__api_key=MAIN_KEY, short_id="v0003").delete()
    with pytest.raises(errors.NotFound) as caught:
        services.stop_session(account, visitor)
    assert "Upscope has no visitor v0003: nothing to stop" in (
        caught.value.user_message()
    )


def test_a_pulled_session_never_goes_back_to_ongoing(account):
    ended = Session.parse(
        {
            "id": "s_900",
            "visitor_id": "v9",
            "started_at": "2026-11-30T09:00:00Z",
            "ended_at": "2026-11-30T09:10:00Z",
            "updated_at": "2026-11-30T09:10:00Z",
            "length_seconds": 600,
        }
    )
    stale = Session.parse({**ended.raw, "ended_at": None, "length_seconds": 120})
    stale.updated_at = ended.updated_at - timedelta(minutes=5)
    payload = VisitorPayload.parse({"short_id": "v9", "call_name": "Nine"})
    payload.sessions = [ended]
    services.store_visitors(account, [payload])
    payload.sessions = [stale]
    services.store_visitors(account, [payload])
    row = UpscopeSession.objects.get(account=account, external_id="s_900")
    assert not row.is_ongoing and row.duration == 600 and row.ended_at


def test_refreshing_a_visitor_upscope_deleted_marks_it_removed(account):
    visitor = stored(account, "v0003")
    Visitor.objects.filter(account__api_key=MAIN_KEY, short_id="v0003").delete()
    with pytest.raises(errors.NotFound) as caught:
        services.refresh_visitor(account, visitor)
    assert "marked removed" in caught.value.user_message()
    visitor.refresh_from_db()
    assert visitor.removed_at is not None


# --- deletes ----------------------------------------------------------------------
def test_delete_an_offline_visitor(account):
    visitor = stored(account, "v0003")
    assert "deleted" in services.delete_visitor(account, visitor)
    assert not Visitor.objects.filter(
        account__api_key=MAIN_KEY, short_id="v0003"
    ).exists()
    visitor.refresh_from_db()
    assert visitor.removed_at is not None


def test_an_online_visitor_cannot_be_deleted(account):
    visitor = stored(account, "v0001")
    with pytest.raises(services.errors.PermanentVendorError) as caught:
        services.delete_visitor(account, visitor)
    assert caught.value.user_message() == ONLINE_MESSAGE
    visitor.refresh_from_db()
    assert visitor.removed_at is None


def test_deleting_a_visitor_already_gone_is_done(account):
    visitor = stored(account, "v0003")
    Visitor.objects.filter(account__api_key=MAIN_KEY, short_id="v0003").delete()
    assert services.delete_visitor(account, visitor) == (
        "Upscope no longer had this visitor."
    )
    visitor.refresh_from_db()
    assert visitor.removed_at is not None


def test_delete_every_offline_visitor(account):
    online, offline = stored(account, "v0001"), stored(account, "v0003")
    assert services.delete_offline_visitors(account) == 1
    assert Visitor.objects.filter(account__api_key=MAIN_KEY, short_id="v0001").exists()
    assert not Visitor.objects.filter(
        account__api_key=MAIN_KEY, short_id="v0003"
    ).exists()
    online.refresh_from_db(), offline.refresh_from_db()
    assert online.removed_at is None and offline.removed_at is not None


# --- agents -----------------------------------------------------------------------
def test_look_up_agents_by_email_and_external_id(account):
    alice = services.lookup_agent(account, email="ALICE@acme.test")
    assert (alice.name, alice.email, alice.looked_up_by) == (
        "Alice Agent",
        "alice@acme.test",
        "email",
    )
    entry = VendorAgent.objects.get(account=account, external_id=alice.external_id)
    assert entry.email == "alice@acme.test"
    erin = services.lookup_agent(account, external_id="ext-erin")
    assert erin.agent_identifier == "ext-erin" and erin.looked_up_by == "external_id"
    assert UpscopeAgent.objects.filter(account=account).count() == 2


def test_an_unknown_agent_is_said_plainly(account):
    with pytest.raises(errors.NotFound) as caught:
        services.lookup_agent(account, email="nobody@acme.test")
    assert caught.value.user_message() == (
        "Upscope has no agent with e-mail nobody@acme.test."
    )


def test_the_agent_of_a_watch_link_comes_from_the_directory(account, reseller):
    user = make_user("erin", reseller, "agent")
    assert services.agent_for(account, user) == (f"portal-user-{user.pk}", "erin")
    user.email, user.first_name, user.last_name = "erin@acme.test", "Erin", "E"
    user.save()
    erin = services.lookup_agent(account, external_id="ext-erin")
    VendorAgent.objects.filter(account=account, external_id=erin.external_id).update(
        email="erin@acme.test"
    )
    assert services.agent_for(account, user) == ("ext-erin", "Erin External")


# --- on-premise -------------------------------------------------------------------
def test_an_onpremise_token_and_its_refusal(account, reseller, live_server):
    visitor = stored(account, "v0001")
    token = services.authorize_onpremise(
        account, visitor, agent_id="a-1", agent_name="Ann"
    )
    assert token.authorized and token.token.count(".") == 2
    full = keyed(reseller, live_server, FULL_KEY)
    with pytest.raises(errors.QuotaExceeded):
        services.authorize_onpremise(full, visitor, agent_id="a-1", agent_name="Ann")


# --- the receiver's address ---------------------------------------------------------
def test_the_receiver_url_follows_the_request_else_site_url(account):
    request = RequestFactory().get("/", HTTP_HOST="localhost:8443")
    path = f"/hooks/{account.pk}/{account.webhook_token}/"
    assert receiver_url(account, request) == f"http://localhost:8443{path}"
    with override_settings(SITE_URL="https://cobrowse.example.com/"):
        assert receiver_url(account) == f"https://cobrowse.example.com{path}"


def test_an_old_stored_visitor_is_still_removed_by_delete_all(account):
    old = UpscopeVisitor.objects.create(
        account=account,
        external_id="v-old",
        is_online=False,
        synced_at=timezone.now() - timedelta(days=3),
    )
    services.delete_offline_visitors(account)
    old.refresh_from_db()
    assert old.removed_at is not None
