"""The shared HTTP session: retries (idempotent methods only), Retry-After, default
timeouts and the User-Agent."""

from __future__ import annotations

import logging

import pytest
import requests
import responses
from django.conf import settings

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.http import USER_AGENT, CappedRetry, build_session

from .conftest import DemoClient, Reply

URL = "https://vendor.test/api/things/"


# --- with `responses`: which answers are retried, and how often -----------------------
@responses.activate
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_get_is_retried_on_429_and_5xx(status):
    for _ in range(2):
        responses.add(responses.GET, URL, status=status)
    responses.add(responses.GET, URL, json={"ok": True})
    response = build_session().get(URL)
    assert response.status_code == 200
    assert len(responses.calls) == 3


@responses.activate
def test_retries_stop_after_the_configured_number():
    responses.add(responses.GET, URL, status=503)
    response = build_session().get(URL)
    assert response.status_code == 503  # the last answer comes back, not an exception
    assert len(responses.calls) == settings.VENDOR_MAX_RETRIES + 1
    responses.calls.reset()
    build_session(retries=1).get(URL)
    assert len(responses.calls) == 2


@responses.activate
@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("status", [429, 500, 503])
def test_non_idempotent_calls_are_never_retried(method, status):
    responses.add(method, URL, status=status)
    assert build_session().request(method, URL, json={}).status_code == status
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_idempotent_writes_are_retried(method):
    responses.add(method, URL, status=503)
    responses.add(method, URL, status=204)
    assert build_session().request(method, URL).status_code == 204
    assert len(responses.calls) == 2


@responses.activate
@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retried(status):
    responses.add(responses.GET, URL, status=status)
    build_session().get(URL)
    assert len(responses.calls) == 1


@responses.activate
def test_default_timeout_user_agent_and_accept():
    responses.add(responses.GET, URL, json={})
    session = build_session()
    session.get(URL)
    session.get(URL, timeout=1.5)
    first, second = responses.calls
    assert first.request.req_kwargs["timeout"] == (
        settings.VENDOR_CONNECT_TIMEOUT,
        settings.VENDOR_READ_TIMEOUT,
    )
    assert second.request.req_kwargs["timeout"] == 1.5  # an explicit one wins
    assert first.request.headers["User-Agent"] == USER_AGENT
    assert first.request.headers["Accept"] == "application/json"


@responses.activate
def test_the_retry_count_catches_a_policy_that_retries_posts(monkeypatch):
    """Deliberately broken policy: POST allowed. The call count shows it."""
    from cobrowse_portal.vendorkit import http

    monkeypatch.setattr(http, "IDEMPOTENT_METHODS", frozenset({"GET", "POST"}))
    responses.add(responses.POST, URL, status=503)
    build_session().post(URL)
    assert len(responses.calls) > 1


# --- against a real local server: sleeps, Retry-After, timeouts, dropped connections --
def test_retry_after_is_honoured(server, sleeps):
    server.script(Reply(429, headers={"Retry-After": "1"}), Reply(200))
    response = build_session().get(server.url + "/x")
    assert response.status_code == 200
    assert len(server.requests) == 2
    assert sleeps == [1.0]


def test_retry_after_is_capped(server, sleeps):
    server.script(Reply(503, headers={"Retry-After": "3600"}), Reply(200))
    assert build_session().get(server.url + "/x").status_code == 200
    assert sleeps == [settings.VENDOR_BACKOFF_MAX]
    sleeps.clear()
    server.script(Reply(429, headers={"Retry-After": "3600"}), Reply(200))
    build_session(backoff_max=0.5).get(server.url + "/x")
    assert sleeps == [0.5]


def test_backoff_grows_but_never_past_the_cap(server, sleeps):
    server.script(*[Reply(503)] * 4, Reply(200))
    assert build_session().get(server.url + "/x").status_code == 200
    assert len(server.requests) == 5
    assert len(sleeps) == 3  # no wait before the first retry, then backoff
    assert all(0 < s <= settings.VENDOR_BACKOFF_MAX for s in sleeps)


def test_post_on_429_with_retry_after_is_not_retried(server, sleeps):
    server.script(Reply(429, headers={"Retry-After": "1"}), Reply(200))
    assert build_session().post(server.url + "/x", json={}).status_code == 429
    assert len(server.requests) == 1 and sleeps == []


def test_dropped_connection_is_retried_for_get_only(server, sleeps):
    server.script(Reply(drop=True), Reply(200, b'{"ok": true}'))
    assert build_session().get(server.url + "/x").json() == {"ok": True}
    assert len(server.requests) == 2
    server.script(Reply(drop=True), Reply(200))
    with pytest.raises(requests.ConnectionError):
        build_session().post(server.url + "/x", json={"create": "once"})
    assert len(server.requests) == 1  # the vendor may have acted on it: never resend


def test_default_read_timeout_applies_and_is_retried_for_get(server, sleeps):
    server.script(Reply(delay=1.0), Reply(delay=1.0))
    session = build_session(timeout=(1.0, 0.2), retries=1)
    with pytest.raises(requests.ConnectionError):  # ReadTimeout wrapped by retries
        session.get(server.url + "/slow")
    assert len(server.requests) == 2
    server.script(Reply(delay=1.0))
    with pytest.raises(requests.ReadTimeout):
        session.post(server.url + "/slow")
    assert len(server.requests) == 1


def test_connection_refused_is_retried(closed_port, sleeps, caplog, monkeypatch):
    """Connect errors are retried for every method: nothing reached the vendor."""
    increments = []
    real = CappedRetry.increment

    def counting(self, *args, **kwargs):
        increments.append(kwargs.get("method") or args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CappedRetry, "increment", counting)
    caplog.set_level(logging.INFO, "cobrowse.vendorkit.http")
    with pytest.raises(requests.ConnectionError):
        build_session(retries=2).get(f"http://127.0.0.1:{closed_port}/x")
    assert len(increments) == 3  # two retries, then the one that gives up
    assert "retrying GET" in caplog.text


def test_client_counts_every_attempt_and_maps_the_final_answer(server, sleeps):
    server.script(Reply(503), Reply(503), Reply(200, b'{"id": 1}'))
    client = DemoClient(server.url, {"api_key": "k-123456"})
    assert client.get_json("things/") == {"id": 1}
    assert client.requests_made == 3
    server.script(Reply(503, b'{"detail": "down for maintenance"}'))
    with pytest.raises(errors.TransientVendorError, match="down for maintenance"):
        client.get_json("things/")


def test_client_turns_connection_refused_into_a_transient_error(closed_port, sleeps):
    client = DemoClient(f"http://127.0.0.1:{closed_port}", {"api_key": "k-123456"})
    with pytest.raises(
        errors.TransientVendorError, match="could not connect to demo"
    ) as info:
        client.get_json("things/")
    assert "k-123456" not in str(info.value)


def test_client_turns_a_timeout_into_a_transient_error(server, sleeps):
    server.script(Reply(delay=1.0))
    client = DemoClient(
        server.url,
        {"api_key": "k-123456"},
        session=build_session(timeout=(1.0, 0.2), retries=0),
    )
    # The same words as a refused connection: a page never tells them apart.
    with pytest.raises(errors.TransientVendorError, match="could not connect to demo"):
        client.request("POST", "things/")
