"""The sandbox refuses what Upscope refuses, with Upscope's envelope and status
(raw HTTP, so nothing in the client can hide a refusal), and the client maps
each documented refusal onto the right vendorkit error and message."""

from __future__ import annotations

import pytest
import requests

from cobrowse_portal.vendorkit import errors
from vendors.upscope.client import AUTH_MESSAGES
from vendors.upscope.sandbox.seed import FULL_KEY, MAIN_KEY, STATE_KEYS

from .conftest import SANDBOX, client_for

pytestmark = SANDBOX


def call(sandbox, method, path, key=MAIN_KEY, **kwargs):
    headers = {"X-Api-Key": key} if key is not None else {}
    response = requests.request(
        method, f"{sandbox}/{path}", headers=headers, timeout=10, **kwargs
    )
    return response.status_code, response.json()


def refused(sandbox, status, code, method, path, **kwargs):
    assert call(sandbox, method, path, **kwargs) == (
        status,
        {"status": "error", "error": code},
    )


ENDPOINTS = [
    ("GET", "usage"),
    ("GET", "list"),
    ("GET", "visitors/v0001"),
    ("POST", "visitors/v0001/watch_url"),
    ("DELETE", "visitors/v0001/session"),
    ("DELETE", "visitors/v0003"),
    ("DELETE", "visitors?all=true"),
    ("GET", "agents/lookup?email=alice@acme.test"),
    ("GET", "cobrowsing_sessions/list"),
    ("POST", "onpremise/token"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_operation_wants_a_known_key(sandbox, method, path):
    refused(sandbox, 401, "invalid_api_key", method, path, key=None)
    refused(sandbox, 401, "invalid_api_key", method, path, key="")
    refused(sandbox, 401, "invalid_api_key", method, path, key="wrong-key")
    for state, key in STATE_KEYS.items():
        refused(sandbox, 401, state, method, path, key=key)


@pytest.mark.parametrize("code", ["invalid_api_key", *STATE_KEYS])
def test_the_client_says_what_each_401_means(sandbox, code):
    api = client_for(sandbox, STATE_KEYS.get(code, "not-a-key"))
    with pytest.raises(errors.AuthError) as info:
        api.usage()
    assert info.value.status == 401 and info.value.vendor_code == code
    assert info.value.user_message() == AUTH_MESSAGES[code]


def test_messages_differ_per_code():
    assert len({AUTH_MESSAGES[c] for c in ("invalid_api_key", *STATE_KEYS)}) == 4


def test_not_found_and_online(sandbox):
    refused(sandbox, 404, "visitor_not_found", "GET", "visitors/nobody")
    refused(sandbox, 404, "visitor_not_found", "DELETE", "visitors/nobody/session")
    refused(sandbox, 404, "visitor_not_found", "DELETE", "visitors/nobody")
    body = {"agent": {"id": "1", "name": "A"}}
    path = "visitors/nobody/watch_url"
    refused(sandbox, 404, "visitor_not_found", "POST", path, json=body)
    refused(sandbox, 409, "visitor_online", "DELETE", "visitors/v0001")
    refused(sandbox, 404, "not_found", "GET", "visitors/v0001/history")


def test_watch_url_required_fields_and_flat_metadata(sandbox):
    path = "visitors/v0001/watch_url"
    agent = {"id": "1", "name": "A"}
    for body, code in [
        ({}, "agent_required"),
        ({"agent": "1"}, "agent_required"),
        ({"agent": {"name": "A"}}, "agent_id_required"),
        ({"agent": {"id": "", "name": "A"}}, "agent_id_required"),
        ({"agent": {"id": 1, "name": "A"}}, "agent_id_required"),
        ({"agent": {"id": "1"}}, "agent_name_required"),
        ({"agent": {"id": "1", "name": " "}}, "agent_name_required"),
        ({"agent": agent, "metadata": {"a": {"b": 1}}}, "metadata_not_flat"),
        ({"agent": agent, "metadata": {"a": [1]}}, "metadata_not_flat"),
        ({"agent": agent, "metadata": {"a": None}}, "metadata_not_flat"),
        ({"agent": agent, "metadata": ["a"]}, "invalid_metadata"),
        ({"agent": agent, "branding": {"naked": "yes"}}, "invalid_branding"),
        ({"agent": agent, "branding": {"on_end_url": "ftp://x"}}, "invalid_branding"),
        ({"agent": agent, "permissions": {"allow_fly": True}}, "invalid_permissions"),
        ({"agent": agent, "permissions": {"allow_click": 1}}, "invalid_permissions"),
        ({"agent": agent, "webhook_url": "not a url"}, "invalid_webhook_url"),
        ({"agent": agent, "initial_notes": 5}, "invalid_initial_notes"),
    ]:
        refused(sandbox, 400, code, "POST", path, json=body)
    refused(sandbox, 400, "invalid_json", "POST", path, data=b"{nope")
    refused(sandbox, 400, "invalid_json", "POST", path, json=[agent])
    # Flat metadata of every allowed kind, and page_only, are accepted.
    status, body = call(
        sandbox,
        "POST",
        path,
        json={
            "agent": agent,
            "metadata": {"s": "x", "n": 1.5, "b": False},
            "branding": {"naked": "page_only"},
        },
    )
    assert status == 200 and body["status"] == "ok" and body["watch_url"]


def test_the_plan_limit_is_402(sandbox):
    agent = {"id": "1", "name": "A"}
    refused(
        sandbox,
        402,
        "subscription_limit",
        "POST",
        "visitors/v0001/watch_url",
        key=FULL_KEY,
        json={"agent": agent},
    )
    refused(
        sandbox,
        402,
        "not_authorized",
        "POST",
        "onpremise/token",
        key=FULL_KEY,
        json={"visitor_id": "v0001", "agent": agent},
    )


def test_query_parameters_are_checked(sandbox):
    for value in ("0", "11", "x", "-1"):
        refused(sandbox, 400, "invalid_max_results", "GET", f"list?max_results={value}")
    refused(sandbox, 400, "all_required", "DELETE", "visitors")
    refused(sandbox, 400, "all_required", "DELETE", "visitors?all=false")
    for query, code in [
        ("after_id=123", "invalid_after_id"),
        ("before_id=x_1", "invalid_before_id"),
        ("ongoing_only=maybe", "invalid_ongoing_only"),
        ("updated_after=yesterday", "invalid_updated_after"),
    ]:
        refused(sandbox, 400, code, "GET", f"cobrowsing_sessions/list?{query}")


def test_agent_lookup_wants_exactly_email_or_external_id(sandbox):
    # The docs: "any other parameter … will return not found".
    refused(sandbox, 404, "agent_not_found", "GET", "agents/lookup")
    refused(sandbox, 404, "agent_not_found", "GET", "agents/lookup?id=u_1")
    refused(sandbox, 404, "agent_not_found", "GET", "agents/lookup?email=a@b.c&name=x")
    refused(
        sandbox,
        400,
        "email_or_external_id",
        "GET",
        "agents/lookup?email=alice@acme.test&external_id=ext-erin",
    )
    refused(sandbox, 404, "agent_not_found", "GET", "agents/lookup?email=no@acme.test")


def test_onpremise_token_wants_the_visitor_and_agent(sandbox):
    for body, code in [
        ({"agent": {"id": "1", "name": "A"}}, "visitor_id_required"),
        ({"visitor_id": "v1"}, "agent_required"),
        ({"visitor_id": "v1", "agent": {"id": "1"}}, "agent_name_required"),
    ]:
        refused(sandbox, 400, code, "POST", "onpremise/token", json=body)
    status, body = call(
        sandbox,
        "POST",
        "onpremise/token",
        json={"visitor_id": "v1", "agent": {"id": "1", "name": "A"}},
    )
    assert status == 200 and body["authorized"] is True and "status" not in body


def test_methods_are_checked(sandbox):
    status, body = call(sandbox, "POST", "usage")
    assert (status, body) == (405, {"status": "error", "error": "method_not_allowed"})
    status, _ = call(sandbox, "GET", "visitors/v0001/watch_url")
    assert status == 405
