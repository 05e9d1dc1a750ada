"""The sandbox refuses what Serviceform refuses (raw HTTP, no client): a
missing or wrong key (403; 401 on /leads, as documented), an unknown space,
item or path (404), a wrong method (405 with Allow), item values that do not
fit the space's fields (422, per field), and chat windows and limits outside
the rules (400). Answers are JSON with `statusCode` and `message` (the
sandbox's choice; the docs show no error body)."""

from __future__ import annotations

import pytest
import requests
from django.test import override_settings

from vendors.serviceform.sandbox.seed import MAIN_KEY

from .conftest import SANDBOX, request_space

pytestmark = SANDBOX
KEY = {"sf-api-key": MAIN_KEY}
WINDOW = {"startTime": "2020-01-01T00:00:00.000Z", "endTime": "2030-01-01T00:00:00Z"}


def call(method, url, headers=KEY, **kw):
    return requests.request(method, url, headers=headers, timeout=10, **kw)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "flex/spaces"),
        ("POST", "chats"),
        ("GET", "statistics/chat"),
        ("GET", "flex/spaces/x/items"),
        ("DELETE", "flex/spaces/x/items/y"),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"sf-api-key": "wrong"}, {"sf-api-key": ""}])
def test_a_missing_or_wrong_key_is_403(sandbox, method, path, headers):
    answer = call(method, f"{sandbox}/{path}", headers=headers)
    assert answer.status_code == 403
    body = answer.json()
    assert body["statusCode"] == 403 and body["message"]


def test_leads_answer_401_as_their_section_says(sandbox):
    answer = call("GET", f"{sandbox}/leads", headers={"sf-api-key": "wrong"})
    assert answer.status_code == 401
    assert call("GET", f"{sandbox}/leads").status_code == 200


@pytest.mark.parametrize(
    ("path", "allowed", "wrong"),
    [
        ("flex/spaces", "GET", "POST"),
        ("flex/spaces/{space}/items", "GET, POST", "PUT"),
        ("flex/spaces/{space}/items/x", "GET, PUT, DELETE", "POST"),
        ("flex/spaces/{space}/items/x", "GET, PUT, DELETE", "PATCH"),
        ("leads", "GET", "POST"),
        ("chats", "POST", "GET"),
        ("statistics/chat", "GET", "POST"),
    ],
)
def test_a_wrong_method_is_405_with_allow(sandbox, path, allowed, wrong):
    url = f"{sandbox}/{path.format(space=request_space().space_id)}"
    answer = call(wrong, url)
    assert answer.status_code == 405 and answer.headers["Allow"] == allowed


def test_unknown_space_item_and_path_are_404(sandbox):
    space = request_space().space_id
    for method, path, message in [
        ("GET", "flex/spaces/nope/items", "Space not found"),
        ("POST", "flex/spaces/nope/items", "Space not found"),
        ("GET", f"flex/spaces/{space}/items/nope", "Item not found"),
        ("PUT", f"flex/spaces/{space}/items/nope", "Item not found"),
        ("DELETE", f"flex/spaces/{space}/items/nope", "Item not found"),
        ("GET", "flex/nothing", "Not found"),
    ]:
        answer = call(method, f"{sandbox}/{path}", json={})
        assert answer.status_code == 404, path
        assert answer.json() == {"statusCode": 404, "message": message}
    assert call("GET", f"{sandbox}/flex/nothing", headers={}).status_code == 403


def test_a_body_that_is_no_json_object_is_400(sandbox):
    url = f"{sandbox}/flex/spaces/{request_space().space_id}/items"
    for body in (b"{not json", b"[1, 2]", b'"text"'):
        answer = call("POST", url, data=body)
        assert answer.status_code == 400, body
    assert call("POST", f"{sandbox}/chats", data=b"[]").status_code == 400


BASE = {"primary_field": "P", "customer": "C", "status": "new"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("customer", 5, "Must be text."),
        ("customer", "x" * 256, "Too long."),
        ("budget", "12", "Must be a number."),
        ("budget", True, "Must be a number."),
        ("due_date", "15.01.2027", "Must be a date (YYYY-MM-DD)."),
        ("due_date", "2027-02-30", "Not a valid date."),
        ("appointment", "tomorrow", "Must be an ISO 8601 date and time."),
        ("status", "maybe", "Not one of the options."),
        ("status", "New", "Not one of the options."),  # the value, not the label
        ("services", "repair", "Must be a list of options."),
        ("services", ["repair", "juggling"], "Not one of the options."),
        ("services", ["repair", "repair"], "An option is chosen twice."),
        ("urgent", "true", "Must be true or false."),
        ("contact_email", "not-an-address", "Must be an e-mail address."),
        ("contact_phone", "call me", "Must be a phone number."),
        ("website", "javascript:alert(1)", "Must be an http(s) URL."),
        ("colour", "red", "Unknown field."),
        ("id", "mine", "Unknown field."),  # read-only keys are not values
        ("primary_field", "", "This field is required."),
    ],
)
def test_values_that_do_not_fit_the_field_are_422(sandbox, field, value, message):
    url = f"{sandbox}/flex/spaces/{request_space().space_id}/items"
    answer = call("POST", url, json={**BASE, field: value})
    assert answer.status_code == 422
    assert answer.json() == {
        "statusCode": 422,
        "message": "Validation failed",
        "errors": {field: [message]},
    }
    assert call("POST", url, json=BASE).status_code == 200


def test_required_fields_on_create_and_update(sandbox):
    url = f"{sandbox}/flex/spaces/{request_space().space_id}/items"
    answer = call("POST", url, json={})
    assert answer.status_code == 422
    assert set(answer.json()["errors"]) == {"primary_field", "customer", "status"}
    made = call("POST", url, json=BASE).json()
    item = f"{url}/{made['id']}"
    assert call("PUT", item, json={"customer": ""}).status_code == 422
    assert call("PUT", item, json={"budget": None}).status_code == 200
    answer = call("PUT", item, json={"budget": "x", "status": "maybe"})
    assert answer.status_code == 422 and set(answer.json()["errors"]) == {
        "budget",
        "status",
    }
    assert call("GET", item).json()["status"] == "new"  # nothing was applied


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"endTime": WINDOW["endTime"]}, "startTime is required"),
        ({"startTime": WINDOW["startTime"]}, "endTime is required"),
        ({**WINDOW, "startTime": "yesterday"}, "startTime must be an ISO 8601 time"),
        ({**WINDOW, "endTime": 1672531200}, "endTime must be an ISO 8601 time"),
        (
            {"startTime": "2024-02-01T00:00:00Z", "endTime": "2024-01-01T00:00:00Z"},
            "endTime is before startTime",
        ),
        ({**WINDOW, "limit": 0}, "limit must be between 1 and 500"),
        ({**WINDOW, "limit": 501}, "limit must be between 1 and 500"),
        ({**WINDOW, "limit": "10"}, "limit must be a whole number"),
        ({**WINDOW, "limit": True}, "limit must be a whole number"),
        ({**WINDOW, "limit": 2.5}, "limit must be a whole number"),
        ({**WINDOW, "showMessages": "yes"}, "showMessages must be true or false"),
        ({**WINDOW, "chatbot": 1}, "chatbot must be true or false"),
        ({**WINDOW, "uid": 42}, "uid must be text"),
        ({**WINDOW, "from": "x"}, "Unknown parameter: from"),
    ],
)
def test_chat_windows_and_limits_are_refused_outside_the_rules(sandbox, body, message):
    answer = call("POST", f"{sandbox}/chats", json=body)
    assert answer.status_code == 400
    assert answer.json() == {"statusCode": 400, "message": message}


def test_chats_accept_the_documented_example_body(sandbox):
    body = {**WINDOW, "uid": "user123", "limit": 10, "showMessages": True}
    answer = call("POST", f"{sandbox}/chats", json={**body, "chatbot": True})
    assert answer.status_code == 200 and answer.json() == []
    answer = call("POST", f"{sandbox}/chats", json={**WINDOW, "limit": 3})
    chats = answer.json()
    assert len(chats) == 3 and all("history" not in c for c in chats)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({}, 400),
        ({"startTime": WINDOW["startTime"]}, 400),
        ({**WINDOW, "metrics": "chats,bogus"}, 400),
        ({**WINDOW, "metrics": ["chats", "sessions"]}, 400),
        ({**WINDOW, "metrics": "chats,messages"}, 200),
        ({**WINDOW, "metrics": ["chats", "rating"]}, 200),
        (WINDOW, 200),
    ],
)
def test_statistics_parameters(sandbox, query, status):
    answer = call("GET", f"{sandbox}/statistics/chat", params=query)
    assert answer.status_code == status, answer.text
    if status == 200 and "metrics" in query:
        asked = query["metrics"]
        asked = asked.split(",") if isinstance(asked, str) else asked
        assert list(answer.json()["metrics"]) == asked


def test_the_rate_limit_answers_429_with_retry_after(sandbox):
    # Per hour, so the four requests cannot straddle two windows.
    with override_settings(SANDBOX_RATE_LIMIT="3/h"):
        answers = [call("GET", f"{sandbox}/flex/spaces") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    last = answers[3]
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    assert last.json() == {"statusCode": 429, "message": "Too many requests"}
