"""The real `SurflyClient` against the Surfly sandbox over HTTP: every public
client method, the state it changes, and how errors map onto vendorkit's taxonomy."""

from __future__ import annotations

import inspect
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings

from cobrowse_portal.vendorkit.errors import (
    AuthError,
    MalformedResponse,
    NotFound,
    PermanentVendorError,
    RateLimited,
    TransientVendorError,
)
from cobrowse_portal.vendorkit.sandbox.faults import set_faults
from vendors.surfly.client import SurflyClient
from vendors.surfly.sandbox.models import Company
from vendors.surfly.sandbox.options import DEFAULT_OPTIONS
from vendors.surfly.sandbox.seed import CLIENT_KEY, RESELLER_KEY
from vendors.surfly.schemas import Agent, Client, Server, SessionInfo, Webhook

from .conftest import SANDBOX, SEED_SIZE, clear_of_window_edge

pytestmark = SANDBOX
FAST_RETRIES = {"VENDOR_MAX_RETRIES": 1, "VENDOR_BACKOFF_MAX": 0.1}


def test_every_client_method_is_exercised_here():
    """A meta-test: each public method SurflyClient defines is called below."""
    source = Path(__file__).read_text()
    methods = {
        name
        for name, fn in vars(SurflyClient).items()
        if inspect.isfunction(fn) and not name.startswith("_")
    } - {"authenticate", "parse_error"}  # hooks, exercised by every call
    missing = {m for m in methods if not re.search(rf"\.{m}\(", source)}
    assert len(methods) >= 32 and not missing


# --- agents ---------------------------------------------------------------------------
def test_agents_list_free_and_crud(surfly):
    agents = surfly.list_agents()
    assert len(agents) == 6 and all(isinstance(a, Agent) for a in agents)
    peter = agents[0]
    assert (peter.name, peter.email, peter.role, peter.available) == (
        "Peter Pan", "peter@neverland.example", "admin", True,
    )  # fmt: skip
    assert peter.last_login is not None
    free = {a.name for a in surfly.list_agents(free=True)}
    assert free == {"Peter Pan", "Wendy Darling", "Tiger Lily"}  # available and online

    new_id = surfly.create_agent("Smee", "smee@neverland.example", "pw-1", role="agent")
    assert isinstance(new_id, str) and new_id.isdigit()
    assert surfly.get_agent(new_id).email == "smee@neverland.example"

    updated = surfly.update_agent(new_id, "Mr Smee", False, role="manager")
    assert (updated.agent_id, updated.name, updated.available, updated.role) == (
        new_id, "Mr Smee", False, "manager",
    )  # fmt: skip
    assert surfly.get_agent(new_id).name == "Mr Smee"
    assert "Mr Smee" in {a.name for a in surfly.list_agents()}
    assert "Mr Smee" not in {a.name for a in surfly.list_agents(free=True)}

    with pytest.raises(PermanentVendorError) as dup:
        surfly.create_agent("Again", "smee@neverland.example", "pw-2")
    assert dup.value.status == 400 and "agent_email" in dup.value.field_errors

    assert surfly.delete_agent(new_id) == "Agent has been removed successfully"
    with pytest.raises(NotFound):
        surfly.get_agent(new_id)


def test_agent_access_token_reuse_force_new_and_new_user(surfly):
    first = surfly.agent_access_token(1)
    assert first.agent_id == "1" and first.token.startswith("t")
    assert first.expires_in == 86400 and first.role == "admin"
    assert first.user_created is False
    assert surfly.agent_access_token(1).token == first.token  # reused within 24 h
    forced = surfly.agent_access_token(1, force_new=True)
    assert forced.token != first.token

    made = surfly.agent_access_token(
        email="mary@neverland.example", name="Mary", role="agent"
    )
    assert made.user_created is True and made.role == "agent"
    assert "mary@neverland.example" in {a.email for a in surfly.list_agents()}
    again = surfly.agent_access_token(email="mary@neverland.example", name="Mary")
    assert again.user_created is False and again.agent_id == made.agent_id


def test_access_token_for_unknown_agent_is_surflys_documented_404(surfly):
    with pytest.raises(NotFound) as exc:
        surfly.agent_access_token(424242)
    assert exc.value.vendor_message == "Agent was not found"
    assert exc.value.field_errors == {"agent_id": ["Agent was not found"]}


# --- sessions -------------------------------------------------------------------------
def test_list_sessions_has_live_and_ended_with_distinct_ids(surfly):
    sessions = surfly.list_sessions()
    assert len(sessions) == SEED_SIZE + 3
    assert all(isinstance(s, SessionInfo) for s in sessions)
    assert sum(s.is_active for s in sessions) == 3
    s = sessions[-1]
    assert s.id != s.session_id and s.id.startswith(s.session_id)
    assert re.fullmatch(r"\d{3}-\d{3}-\d{3}", s.formatted_id)
    assert isinstance(s.meta, dict) and isinstance(s.raw["meta"], str)  # JSON in JSON
    ended = next(s for s in sessions if not s.is_active)
    assert isinstance(ended.raw["duration"], str) and ended.duration > 0


def test_create_get_end_session_and_filters(surfly):
    queued = surfly.create_session("https://shop.example.com/", tags=["vip", "demo"])
    assert queued.leader_link.startswith("https://") and queued.follower_link
    assert queued.queued is True and queued.pin and len(queued.pin) == 4
    # Company options (start_with_chat_open=True in the seed) plus the call's own.
    assert queued.options["start_with_chat_open"] is True

    direct = surfly.create_session(
        "https://shop.example.com/cart", agent_id=2, hide_session_ui=True
    )
    assert direct.queued is False and direct.pin is None and direct.agent_id == "2"
    assert direct.options["hide_session_ui"] is True

    for key in (direct.id, direct.session_id, direct.formatted_id):
        assert surfly.get_session(key).id == direct.id

    live = {s.id for s in surfly.filter_sessions(active_session=True)}
    assert {queued.id, direct.id} <= live and len(live) == 5
    assert [s.id for s in surfly.filter_sessions(tags=["demo"])] == [queued.id]
    assert [
        s.id for s in surfly.filter_sessions(active_session=True, pin=queued.pin)
    ] == [queued.id]
    by_agent = surfly.filter_sessions(agent_id=2)
    assert direct.id in {s.id for s in by_agent} and {s.agent_id for s in by_agent} == {
        "2"
    }
    now = direct.start_time
    this_month = surfly.filter_sessions(year=now.year, month=now.month)
    assert direct.id in {s.id for s in this_month}
    assert all(s.start_time.month == now.month for s in this_month)

    ended = surfly.end_session(queued.formatted_id)
    assert ended.end_time is not None and ended.duration is not None
    assert not ended.is_active and ended.raw["duration"] == str(ended.duration)
    assert queued.id not in {s.id for s in surfly.filter_sessions(active_session=True)}
    assert surfly.get_session(queued.id).end_time == ended.end_time

    with pytest.raises(NotFound):
        surfly.get_session("000-000-000")
    with pytest.raises(PermanentVendorError) as bad:
        surfly.create_session("https://x.example", agent_id=99999)
    assert bad.value.field_errors == {"agent_id": ["Agent was not found"]}


# --- company options ------------------------------------------------------------------
def test_company_options_get_patch_post_delete(surfly):
    options = surfly.get_options()
    assert set(options) == set(DEFAULT_OPTIONS)
    assert options["start_with_chat_open"] is True  # the seed's company default

    patched = surfly.update_options({"videochat": False})
    assert patched["videochat"] is False and patched["start_with_chat_open"] is True

    # POST replaces: everything not sent goes back to its default.
    replaced = surfly.replace_options({"start_muted": True})
    assert replaced["start_muted"] is True
    assert replaced["videochat"] is True and replaced["start_with_chat_open"] is False
    assert surfly.get_options() == replaced
    assert surfly.create_session("https://x.example", agent_id=1).options["start_muted"]

    assert surfly.reset_options() is None
    assert surfly.get_options() == DEFAULT_OPTIONS

    with pytest.raises(PermanentVendorError) as bad:
        surfly.update_options({"videochat": "sometimes"})
    assert bad.value.field_errors == {"videochat": ["Must be a valid boolean."]}


# --- screenshots ----------------------------------------------------------------------
def test_screenshots_text_plain_states_and_latest(surfly):
    live = surfly.create_session("https://x.example", agent_id=1)
    with pytest.raises(NotFound):
        surfly.latest_screenshot(live.id)  # nothing generated yet
    assert (
        surfly.create_screenshot(live.id, size=1024, interval=30)
        == "GENERATION-STARTED"
    )
    assert surfly.create_screenshot(live.id) == "ALREADY-RUNNING"
    url = surfly.latest_screenshot(live.formatted_id)
    assert url.startswith("http") and ".png" in url  # served by the sandbox itself
    surfly.end_session(live.id)
    assert surfly.create_screenshot(live.id) == "FAILED-INTERNALLY"


# --- reseller clients -----------------------------------------------------------------
def test_reseller_clients_crud_and_new_rest_key_works(surfly, base_url):
    clients = surfly.list_clients()
    assert len(clients) == 3 and all(isinstance(c, Client) for c in clients)
    globex = next(c for c in clients if c.rest_key == CLIENT_KEY)
    assert globex.company_name == "Globex Corporation" and globex.plan == "pro"
    assert globex.domains == ["globex.example", "*.globex.example"]

    made = surfly.create_client(
        "Wayne Enterprises", ["wayne.example"], "bruce@wayne.example", "Bruce"
    )
    assert made.client_key and made.rest_key and made.widget_key
    assert made.company_name == "Wayne Enterprises"
    wayne = SurflyClient(base_url, {"api_key": made.rest_key})
    assert [a.email for a in wayne.list_agents()] == ["bruce@wayne.example"]

    fetched = surfly.get_client(made.client_key)
    assert fetched.domains == ["wayne.example"] and fetched.plan == "client_enterprise"
    assert surfly.set_client_domains(made.client_key, ["a.example", "*.b.example"]) == [
        "a.example", "*.b.example",
    ]  # fmt: skip
    assert surfly.get_client(made.client_key).domains == ["a.example", "*.b.example"]
    renamed = surfly.update_client(made.client_key, "Wayne Corp")
    assert renamed.company_name == "Wayne Corp" and renamed.agent_count == 10
    assert len(surfly.list_clients()) == 4

    assert (
        surfly.delete_client(made.client_key) == "Client has been removed Successfully"
    )
    with pytest.raises(NotFound):
        surfly.get_client(made.client_key)
    with pytest.raises(AuthError) as gone:
        wayne.list_agents()
    assert gone.value.status == 401


def test_client_sessions_for_reseller(surfly):
    globex = next(c for c in surfly.list_clients() if c.rest_key == CLIENT_KEY)
    live = surfly.client_sessions(globex.client_key)
    assert len(live) == 2 and all(s.is_active is True for s in live)
    assert all(s.session_id and s.follower_link and s.agent_id for s in live)
    everything = surfly.client_sessions(globex.client_key, active_session=False)
    assert len(everything) > 2
    with pytest.raises(NotFound):
        surfly.client_sessions("not-a-client")


def test_non_reseller_key_gets_403_on_clients(client_surfly):
    with pytest.raises(AuthError) as exc:
        client_surfly.list_clients()
    assert exc.value.status == 403
    assert len(client_surfly.list_agents()) == 3  # the key itself works


# --- history --------------------------------------------------------------------------
def test_history_follows_next_across_pages(surfly):
    Company.objects.filter(api_key=RESELLER_KEY).update(history_page_size=25)
    pages = list(surfly.history_pages())
    assert len(pages) == 5  # 123 records, 25 a page
    assert [len(p.items) for p in pages] == [25, 25, 25, 25, 23]
    assert all("api_key" not in (p.cursor["next"] or "") for p in pages)
    assert pages[-1].cursor == {"next": None}
    records = [s for p in pages for s in p.items]
    assert len({s.id for s in records}) == SEED_SIZE + 3
    starts = [s.start_time for s in records]
    assert starts == sorted(starts, reverse=True)  # newest first
    assert all(isinstance(s.raw["duration"], int) for s in records)  # int in history
    assert [s.id for s in surfly.list_history()] == [s.id for s in records]

    # Resuming from a saved cursor continues right after that page.
    resumed = next(surfly.history_pages(resume=pages[2].cursor))
    assert [s.id for s in resumed.items] == [s.id for s in pages[3].items]


def test_history_filters(surfly):
    everything = list(surfly.list_history())
    vip = list(surfly.filter_history(tags=["vip"]))
    assert vip and all("vip" in s.tags for s in vip)
    assert len(vip) == sum("vip" in s.tags for s in everything)
    untagged_or_vip = list(surfly.filter_history(tags="vip,null"))
    assert len(untagged_or_vip) == len(vip) + sum(not s.tags for s in everything)

    assert all(s.agent_id == "2" for s in surfly.filter_history(agent_id=2))
    no_agent = list(surfly.filter_history(agent_id="null"))
    assert no_agent and all(s.agent_id is None for s in no_agent)
    assert all(s.pin is None for s in surfly.filter_history(pin="null"))

    mid = list(surfly.filter_history(min_duration=60, max_duration=300))
    assert mid and all(60 <= s.duration <= 300 for s in mid)
    live = list(surfly.filter_history(active_session=True))
    assert len(live) == 3 and all(s.end_time is None for s in live)

    # [min_date, max_date): a record exactly at max_date is left out.
    pivot = everything[10].start_time
    before = list(surfly.filter_history(max_date=pivot.isoformat()))
    assert before and all(s.start_time < pivot for s in before)
    window = list(
        surfly.filter_history(
            min_date=pivot.isoformat(),
            max_date=(pivot + timedelta(days=30)).isoformat(),
        )
    )
    assert window[-1].start_time == pivot
    assert len(before) + len(
        list(surfly.filter_history(min_date=pivot.isoformat()))
    ) == len(everything)

    with pytest.raises(PermanentVendorError) as bad:
        list(surfly.filter_history(min_date="yesterday"))
    assert "min_date" in bad.value.field_errors


# --- webhooks and servers -------------------------------------------------------------
def test_webhooks_crud(surfly):
    hooks = surfly.list_webhooks()
    assert len(hooks) == 2 and all(isinstance(h, Webhook) for h in hooks)
    assert {h.enabled for h in hooks} == {True, False}  # one switched off by "Surfly"

    made = surfly.create_webhook("https://portal.example/hooks/1/x/", "session.ended")
    assert made.id and made.enabled and made.ssl_verification and made.company_id
    assert surfly.get_webhook(made.id).url == "https://portal.example/hooks/1/x/"
    changed = surfly.update_webhook(
        made.id, "https://portal.example/hooks/2/y/", "session.started", enabled=False,
        ssl_verification=False,
    )  # fmt: skip
    assert (changed.url, changed.category) == (
        "https://portal.example/hooks/2/y/", "session.started",
    )  # fmt: skip
    assert (changed.enabled, changed.ssl_verification) == (False, False)
    assert len(surfly.list_webhooks()) == 3

    assert surfly.delete_webhook(made.id) is None  # 204, no body
    assert len(surfly.list_webhooks()) == 2
    with pytest.raises(NotFound):
        surfly.get_webhook(made.id)
    with pytest.raises(PermanentVendorError) as bad:
        surfly.create_webhook("not a url", "session.exploded")
    assert set(bad.value.field_errors) == {"url", "category"}


def test_servers_and_check_connection(surfly):
    servers = surfly.list_servers()
    assert servers and all(isinstance(s, Server) for s in servers)
    assert servers[0].region == "eu" and len(servers[0].ips) == 2
    assert "REST key accepted" in surfly.check_connection()


# --- errors ---------------------------------------------------------------------------
def test_wrong_key_is_auth_error(base_url, seeded):
    bad = SurflyClient(base_url, {"api_key": "not-a-surfly-key"})
    with pytest.raises(AuthError) as exc:
        bad.list_agents()
    assert exc.value.status == 401 and exc.value.vendor_message == "Invalid API key."


def test_sandbox_rate_limit_gives_rate_limited_after_retries(base_url, seeded):
    with override_settings(SANDBOX_RATE_LIMIT="5/m", **FAST_RETRIES):
        client = SurflyClient(base_url, {"api_key": RESELLER_KEY})
        clear_of_window_edge()
        for _ in range(5):
            client.list_servers()
        with pytest.raises(RateLimited) as exc:
            client.list_agents()
    assert exc.value.status == 429 and exc.value.retry_after >= 1
    assert exc.value.vendor_message.startswith("Request was throttled.")
    assert client.requests_made == 7  # five, then one call retried once


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"rate_500": 1.0}, TransientVendorError),
        ({"rate_malformed": 1.0}, MalformedResponse),
        ({"rate_429": 1.0, "retry_after_seconds": 3}, RateLimited),
    ],
)
def test_fault_injection_maps_onto_errors(base_url, seeded, fault, error):
    set_faults("surfly", RESELLER_KEY, **fault)
    with override_settings(**FAST_RETRIES):
        client = SurflyClient(base_url, {"api_key": RESELLER_KEY})
        with pytest.raises(error) as exc:
            client.list_agents()
    assert exc.value.transient is True
    if error is RateLimited:
        assert exc.value.retry_after == 3
    # Other accounts are untouched.
    assert SurflyClient(base_url, {"api_key": CLIENT_KEY}).list_agents()
