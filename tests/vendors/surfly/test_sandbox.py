"""The Surfly sandbox itself: auth, seeding, paging links, webhook emission,
the per-address rate limit and fault injection, over real HTTP."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from cobrowse_portal.core import tasks
from cobrowse_portal.core.models import WebhookEvent
from cobrowse_portal.vendorkit.sandbox.faults import set_faults
from tests.conftest import sandbox_account
from vendors.surfly.models import CobrowseSession
from vendors.surfly.sandbox.models import Agent, Company, SandboxSession, Webhook
from vendors.surfly.sandbox.seed import CLIENT_KEY, RESELLER_KEY, append_history, seed

from .conftest import SANDBOX, SEED_SIZE, clear_of_window_edge

pytestmark = SANDBOX


# --- auth and error bodies ------------------------------------------------------------
def test_missing_or_wrong_key_is_401(api):
    for key in (None, "", "wrong-key"):
        response = api.get("agents/", key=key)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key."}


def test_reseller_paths_refuse_other_keys_with_403(client_api):
    calls = [
        ("GET", "clients/all/"), ("POST", "clients/all/"),
        ("GET", "clients/all/x/"), ("POST", "clients/all/x/"),
        ("PUT", "clients/all/x/"), ("DELETE", "clients/all/x/"),
    ]  # fmt: skip
    for method, path in calls:
        response = client_api.call(method, path, json={})
        assert response.status_code == 403, (method, path)
        assert set(response.json()) == {"detail"}
    listing = client_api.get("sessions/", params={"clientkey": "anything"})
    assert listing.status_code == 403


def test_error_bodies_are_drf_like(api):
    assert api.get("agents/999/").json() == {"detail": "Not found."}
    assert api.get("no-such-thing/").status_code == 404
    wrong_method = api.patch("agents/")
    assert (
        wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET, POST"
    )
    garbled = api.post(
        "agents/", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert garbled.status_code == 400 and garbled.json()["detail"].startswith(
        "JSON parse"
    )
    missing = api.post("agents/", json={"username": "x"})
    assert missing.status_code == 400
    assert missing.json() == {
        "errors": {
            "agent_email": ["This field is required."],
            "password": ["This field is required."],
        }
    }
    token = api.post("agents/access-token/", json={"agent_id": 31337})
    assert token.status_code == 404
    assert token.json() == {"errors": {"agent_id": ["Agent was not found"]}}
    # `/servers` is the one path the spec lists without a key (and without a slash).
    assert api.get("servers", key=None).status_code == 200
    assert api.get("servers/").status_code == 404


# --- seeding --------------------------------------------------------------------------
def _snapshot() -> dict:
    return {
        "companies": list(
            Company.objects.values_list("pk", "api_key", "client_key", "widget_key")
        ),
        "agents": list(Agent.objects.values_list("pk", "company_id", "email")),
        "sessions": sorted(
            SandboxSession.objects.values_list("raw_id", "session_id", "formatted_id")
        ),
        "webhooks": list(Webhook.objects.values_list("pk", "url", "enabled")),
    }


def test_seed_is_deterministic():
    seed(size=40, seed=7, reset=True)
    first = _snapshot()
    seed(size=40, seed=7, reset=True)
    assert _snapshot() == first
    seed(size=40, seed=8, reset=True)
    other = _snapshot()
    assert other["agents"] == first["agents"]  # fixed cast, fixed ids
    assert not set(other["sessions"]) & set(first["sessions"])


def test_seed_summary_names_each_key_for_what_it_is():
    summary = seed(size=10, seed=7, reset=True)
    globex = Company.objects.get(api_key=CLIENT_KEY)
    assert f"REST key {CLIENT_KEY}" in summary
    assert f"client key {CLIENT_KEY}" not in summary  # a REST key is no client key
    assert f"client key {globex.client_key}" in summary
    assert f"REST key {CLIENT_KEY}" in seed(size=10, seed=7)  # already seeded


def test_seed_is_idempotent_and_the_command_works(seeded):
    before = _snapshot()
    assert seed(size=500, seed=3).startswith("already seeded")
    assert _snapshot() == before
    out = StringIO()
    call_command("sandbox_seed", "surfly", "--size", "30", stdout=out)
    assert "already seeded" in out.getvalue()
    call_command("sandbox_seed", "surfly", "--size", "30", "--reset", stdout=out)
    reseller = Company.objects.get(api_key=RESELLER_KEY)
    assert reseller.sessions.count() == 30 + 3


def test_seeded_world(seeded):
    reseller = Company.objects.get(api_key=RESELLER_KEY)
    assert reseller.is_reseller and reseller.agents.count() == 6
    assert reseller.sessions.filter(end_time__isnull=True).count() == 3
    assert reseller.sessions.count() == SEED_SIZE + 3
    assert sorted(reseller.webhooks.values_list("enabled", flat=True)) == [False, True]
    client = Company.objects.get(api_key=CLIENT_KEY)
    assert client.reseller == reseller and not client.is_reseller
    assert (
        client.agents.exists()
        and client.sessions.filter(end_time__isnull=False).exists()
    )
    assert reseller.clients.count() == 3
    assert SandboxSession.objects.db == "sandbox"  # never the portal's database


# --- history paging -------------------------------------------------------------------
def test_history_page_links_keep_the_query_and_walk_both_ways(api, live_server):
    first = api.get(
        "history/", params={"page_size": 50, "active_session": "false"}
    ).json()
    assert first["previous"] is None and len(first["results"]) == 50
    nxt = urlsplit(first["next"])
    assert f"{nxt.scheme}://{nxt.netloc}" == live_server.url  # absolute, same origin
    assert parse_qs(nxt.query) == {
        "page_size": ["50"], "active_session": ["false"],
        "api_key": [RESELLER_KEY], "page": ["2"],
    }  # fmt: skip

    second = api.get(first["next"], key=None).json()  # the link carries the key
    assert "page" not in parse_qs(
        urlsplit(second["previous"]).query
    )  # DRF drops page=1
    last = api.get(
        "history/", params={"page_size": 50, "active_session": "false", "page": 3}
    )
    last = last.json()
    assert last["next"] is None and len(last["results"]) == SEED_SIZE - 100
    assert parse_qs(urlsplit(last["previous"]).query)["page"] == ["2"]
    ids = [r["id"] for page in (first, second, last) for r in page["results"]]
    assert len(set(ids)) == SEED_SIZE

    for page in ("4", "0", "abc"):
        beyond = api.get("history/", params={"page_size": 50, "page": page})
        assert beyond.status_code == 404 and beyond.json() == {
            "detail": "Invalid page."
        }


def test_history_offset_style_and_lenient_page_size(api):
    body = api.get("history/", params={"offset": 10, "limit": 20}).json()
    assert len(body["results"]) == 20
    assert parse_qs(urlsplit(body["next"]).query)["offset"] == ["30"]
    assert "offset" not in parse_qs(urlsplit(body["previous"]).query)
    default = api.get("history/", params={"page_size": "lots"}).json()
    assert len(default["results"]) == 100  # Surfly's size is undocumented; ours is 100


def test_history_records_shape(api):
    results = api.get("history/").json()["results"]
    live = [r for r in results if r["end_time"] is None]
    assert len(live) == 3 and all(isinstance(r["duration"], int) for r in live)
    for r in results:
        assert r["id"] != r["session_id"]
        assert isinstance(r["meta"], str) and isinstance(json.loads(r["meta"]), dict)
        assert isinstance(r["duration"], int) and len(r["options"]) == 68
        assert "waiting_time" not in r and "opentok_archive_id" not in r


def test_history_query_uses_the_paging_index(seeded):
    if connections["sandbox"].vendor != "sqlite":
        pytest.skip("plan text checked on SQLite only")
    reseller = Company.objects.get(api_key=RESELLER_KEY)
    qs = SandboxSession.objects.filter(company=reseller).order_by("-start_time", "-id")
    assert "surfly_sbx_history" in qs.values_list("record_json")[200:301].explain()


# --- webhooks -------------------------------------------------------------------------
@pytest.fixture
def receiver():
    """A tiny HTTP server that records every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook/", received
    server.shutdown()
    server.server_close()


# Surfly's webhook schema requires both flags (the sandbox used to default them).
HOOK_FLAGS = {"enabled": True, "ssl_verification": True}


def test_session_events_are_sent_to_matching_enabled_webhooks(api, receiver):
    url, received = receiver
    for category in ("session.queued", "session.started", "session.ended"):
        assert (
            api.post(
                "webhooks/", json={**HOOK_FLAGS, "url": url, "category": category}
            ).status_code
            == 201
        )
    off = {**HOOK_FLAGS, "url": url + "off/", "category": "session.started",
           "enabled": False}  # fmt: skip
    api.post("webhooks/", json=off)

    queued = api.post(
        "sessions/", json={"url": "https://x.example", "tags": ["t1"]}
    ).json()
    assert [e["type"] for e in received] == ["session.queued", "session.started"]
    first, second = received
    assert second["sequence_id"] == first["sequence_id"] + 1
    assert set(first["data"]) == {
        "session_id", "leader_link", "follower_link", "pin", "tags", "meta",
        "start_time",
    }  # fmt: skip
    assert set(second["data"]) == {
        "session_id", "leader_link", "follower_link", "tags", "meta", "start_time",
    }  # fmt: skip
    assert first["data"]["session_id"] == queued["session_id"]
    assert first["data"]["pin"] == queued["pin"] and first["data"]["tags"] == ["t1"]

    api.post(f"sessions/{queued['id']}/end/")
    ended = received[-1]
    assert (
        ended["type"] == "session.ended"
        and ended["sequence_id"] > second["sequence_id"]
    )
    assert set(ended["data"]) == {
        "session_id", "pin", "tags", "meta", "start_time", "end_time", "duration",
    }  # fmt: skip
    assert isinstance(ended["data"]["duration"], int) and ended["data"]["end_time"]

    # With an agent there is no queue: started only.
    api.post("sessions/", json={"url": "https://x.example", "agent_id": 1})
    assert received[-1]["type"] == "session.started" and len(received) == 4


def test_webhooks_reach_the_portal_receiver(reseller, live_server, api, monkeypatch):
    account = sandbox_account(reseller, live_server.url)
    queued_for: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", queued_for.append)
    hook_url = f"{live_server.url}/hooks/{account.pk}/{account.webhook_token}/"
    for category in ("session.started", "session.ended"):
        api.post(
            "webhooks/", json={**HOOK_FLAGS, "url": hook_url, "category": category}
        )

    made = api.post(
        "sessions/", json={"url": "https://x.example", "agent_id": 2}
    ).json()
    api.post(f"sessions/{made['formatted_id']}/end/")
    events = WebhookEvent.objects.filter(account=account).order_by("sequence")
    assert [e.event_type for e in events] == ["session.started", "session.ended"]
    # Coalesced: one queued drain per account, however many deliveries.
    assert queued_for == [account.pk]

    tasks.process_webhook_events(account.pk)
    local = CobrowseSession.objects.get(account=account, external_id=made["session_id"])
    assert local.is_active is False and local.duration is not None


# --- limits and faults ----------------------------------------------------------------
def test_per_address_limit_answers_429_with_retry_after(api):
    with override_settings(SANDBOX_RATE_LIMIT="3/m"):
        clear_of_window_edge()
        assert api.get("agents/").status_code == 200
        assert (
            api.get("agents/", key="wrong").status_code == 401
        )  # counted all the same
        assert api.get("servers", key=None).status_code == 200
        for key in (RESELLER_KEY, "wrong"):  # the limit comes before the key check
            limited = api.get("agents/", key=key)
            assert limited.status_code == 429
            wait = int(limited.headers["Retry-After"])
            assert 1 <= wait <= 60
            assert re.fullmatch(
                r"Request was throttled\. Expected available in \d+ seconds?\.",
                limited.json()["detail"],
            )


def test_fault_profile_is_per_account(api, client_api):
    set_faults("surfly", RESELLER_KEY, rate_429=1.0, retry_after_seconds=7)
    throttled = api.get("agents/")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert throttled.json() == {
        "detail": "Request was throttled. Expected available in 7 seconds."
    }
    assert client_api.get("agents/").status_code == 200
    set_faults("surfly", RESELLER_KEY, rate_429=0, rate_malformed=1.0)
    garbled = api.get("agents/")
    assert garbled.status_code == 200
    with pytest.raises(ValueError):
        garbled.json()


def test_append_history_adds_newer_records_first_in_history(api):
    reseller = Company.objects.get(api_key=RESELLER_KEY)
    newest_before = api.get("history/").json()["results"][0]["start_time"]
    assert append_history(reseller, 7) == 7
    results = api.get("history/", params={"active_session": "false"}).json()["results"]
    assert all(r["start_time"] > newest_before for r in results[:7])
    assert reseller.sessions.count() == SEED_SIZE + 3 + 7
