"""The sandbox refuses what Smartsupp refuses, with Smartsupp's error body and
status (raw HTTP, so nothing in the client can hide a refusal): a missing,
wrong or query-string key (401 AuthError), a verb the path does not take (only
GET and POST exist), unknown ids and paths (404), and invalid fields (400 with
`hint` naming the field)."""

from __future__ import annotations

import pytest
import requests

from vendors.smartsupp.sandbox.models import Account, Trigger, User
from vendors.smartsupp.sandbox.seed import CLIENT_KEY, MAIN_NAME, RESELLER_KEY

from .conftest import SANDBOX

pytestmark = SANDBOX


def call(sandbox, method, path, key=RESELLER_KEY, **kwargs):
    headers = {"apiKey": key} if key is not None else {}
    response = requests.request(
        method, f"{sandbox}/{path}", headers=headers, timeout=10, **kwargs
    )
    body = response.json() if response.content else None
    return response.status_code, body, response


@pytest.fixture
def ids(sandbox) -> dict:
    a = Account.objects.get(title=MAIN_NAME)
    u = User.objects.filter(account=a).order_by("number").first()
    t = Trigger.objects.filter(account=a).order_by("number").first()
    return {"aid": str(a.number), "uid": str(u.number), "tid": str(t.number)}


def endpoints(aid: str, uid: str, tid: str) -> list[tuple[str, str]]:
    return [
        ("GET", "test"),
        ("GET", "accounts/"),
        ("POST", "accounts/create"),
        ("GET", f"accounts/{aid}/get"),
        ("POST", f"accounts/{aid}/update"),
        ("GET", f"accounts/{aid}/delete"),
        ("GET", f"accounts/{aid}/users/"),
        ("POST", f"accounts/{aid}/users/create"),
        ("GET", f"accounts/{aid}/users/{uid}/get"),
        ("POST", f"accounts/{aid}/users/{uid}/update"),
        ("GET", f"accounts/{aid}/users/{uid}/delete"),
        ("GET", f"accounts/{aid}/triggers/"),
        ("POST", f"accounts/{aid}/triggers/create"),
        ("GET", f"accounts/{aid}/triggers/{tid}/get"),
        ("POST", f"accounts/{aid}/triggers/{tid}/update"),
        ("GET", f"accounts/{aid}/triggers/{tid}/delete"),
        ("POST", f"accounts/{aid}/officehours/update"),
    ]


def test_every_operation_wants_the_key_in_the_header(sandbox, ids):
    ops = endpoints(**ids)
    assert len(ops) == 17
    for method, path in ops:
        for key in (None, "", "wrong-key"):
            status, body, _ = call(sandbox, method, path, key=key, json={})
            assert status == 401 and body["error"] == "AuthError", (method, path)
            assert body["message"]
        # The key in the query string only: refused, and told why.
        status, body, _ = call(
            sandbox, method, path, key=None, params={"apiKey": RESELLER_KEY}, json={}
        )
        assert (status, body["error"]) == (401, "AuthError"), (method, path)
        assert "header" in body["message"]
    assert Account.objects.filter(title=MAIN_NAME).exists()  # nothing deleted


def test_only_get_and_post_and_only_the_one_each_path_takes(sandbox, ids):
    for method, path in endpoints(**ids):
        wrong = "POST" if method == "GET" else "GET"
        for verb in (wrong, "PUT", "PATCH", "DELETE"):
            status, body, response = call(sandbox, verb, path, json={})
            assert status == 405, (verb, path)
            assert body["error"] == "MethodNotAllowed"
            assert response.headers["Allow"] == method
    # Deletes are GETs: the account is still there after every wrong verb.
    assert Account.objects.filter(number=int(ids["aid"])).exists()


def test_unknown_ids_paths_and_other_keys_accounts_are_not_found(sandbox, ids):
    aid = ids["aid"]
    for path in (
        "accounts/999999/get",
        "accounts/abc/get",
        f"accounts/{aid}/users/999999/get",
        f"accounts/{aid}/triggers/999999/get",
        f"accounts/{aid}/triggers/999999/delete",
        "accounts",  # the wrapper's list path ends in a slash
        "hooks/",
        "nothing/here",
    ):
        status, body, _ = call(sandbox, "GET", path)
        assert status == 404 and body["error"] == "NotFound", path
    # The client key cannot see the reseller's accounts.
    status, body, _ = call(sandbox, "GET", f"accounts/{aid}/get", key=CLIENT_KEY)
    assert (status, body["error"]) == (404, "NotFound")
    status, body, _ = call(sandbox, "GET", f"accounts/{aid}/delete", key=CLIENT_KEY)
    assert status == 404 and Account.objects.filter(number=int(aid)).exists()


def test_a_body_that_is_not_a_json_object(sandbox):
    for data in (b"{not json", b"[1, 2]", b""):
        status, body, _ = call(sandbox, "POST", "accounts/create", data=data)
        assert (status, body["error"]) == (400, "InvalidJson")


def invalid(sandbox, path, payload, hint, code="InvalidParam"):
    status, body, _ = call(sandbox, "POST", path, json=payload)
    assert status == 400, (path, payload, body)
    assert body["error"] == code and body["hint"] == hint, (payload, body)
    assert body["message"]


def test_account_fields(sandbox, ids):
    for payload, hint in [
        ({"lang": "en"}, "title"),
        ({"title": "", "lang": "en"}, "title"),
        ({"title": 5, "lang": "en"}, "title"),
        ({"title": "x" * 256, "lang": "en"}, "title"),
        ({"title": "Shop"}, "lang"),
        ({"title": "Shop", "lang": "EN"}, "lang"),
        ({"title": "Shop", "lang": "eng"}, "lang"),
        ({"title": "Shop", "lang": "en", "plan": "pro"}, "plan"),
    ]:
        invalid(sandbox, "accounts/create", payload, hint)
    invalid(sandbox, f"accounts/{ids['aid']}/update", {"title": ""}, "title")
    invalid(sandbox, f"accounts/{ids['aid']}/update", {"lang": "x"}, "lang")


def test_user_fields(sandbox, ids):
    path = f"accounts/{ids['aid']}/users/create"
    ok = {"role": "agent", "email": "new@x.test", "fullname": "N"}
    ok["password"] = "secret1"
    for change, hint in [
        ({"role": None}, "role"),
        ({"role": "owner"}, "role"),
        ({"email": None}, "email"),
        ({"email": "no-at-sign"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"fullname": None}, "fullname"),
        ({"fullname": "  "}, "fullname"),
        ({"password": None}, "password"),
        ({"password": "12345"}, "password"),
        ({"password": "x" * 129}, "password"),
        ({"lang": "English"}, "lang"),
        ({"active": "yes"}, "active"),
        ({"avatar": "x.png"}, "avatar"),
    ]:
        payload = {k: v for k, v in {**ok, **change}.items() if v is not None}
        invalid(sandbox, path, payload, hint)
    # Unique logins: taken in any case, by any account.
    invalid(sandbox, path, {**ok, "email": "ALICE@acme.test"}, "email", "EmailExists")
    update = f"accounts/{ids['aid']}/users/{ids['uid']}/update"
    invalid(sandbox, update, {"role": "boss"}, "role")
    invalid(sandbox, update, {"password": "123"}, "password")
    invalid(sandbox, update, {"email": "bob@acme.test"}, "email", "EmailExists")
    assert User.objects.filter(email_key="new@x.test").count() == 0


GREETING = {
    "name": "Hi",
    "event": "onload",
    "conditions": [{"name": "delay_site", "value": 60}],
    "actions": [{"name": "message", "agent_nick": "Support", "message": "Hello"}],
}


def test_trigger_fields(sandbox, ids):
    path = f"accounts/{ids['aid']}/triggers/create"
    status, made, _ = call(sandbox, "POST", path, json=GREETING)
    assert status == 200 and made["only_once"] is True
    for change, hint in [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"event": None}, "event"),
        ({"event": "On Load"}, "event"),
        ({"active": 1}, "active"),
        ({"only_once": "true"}, "only_once"),
        ({"constraints": "some"}, "constraints"),
        ({"conditions": {"name": "x"}}, "conditions"),
        ({"conditions": [{"name": "delay_site"}]}, "conditions"),
        ({"conditions": [{"name": "Delay Site", "value": 1}]}, "conditions"),
        ({"conditions": [{"name": "x", "value": [1]}]}, "conditions"),
        ({"conditions": [{"name": "x", "value": 1, "op": "gt"}]}, "conditions"),
        ({"actions": None}, "actions"),
        ({"actions": []}, "actions"),
        ({"actions": [{"name": "redirect", "message": "x"}]}, "actions"),
        ({"actions": [{"name": "message", "message": "  "}]}, "actions"),
        ({"actions": [{**GREETING["actions"][0], "agent_nick": 3}]}, "actions"),
        ({"color": "red"}, "color"),
    ]:
        payload = {k: v for k, v in {**GREETING, **change}.items() if v is not None}
        invalid(sandbox, path, payload, hint)
    update = f"accounts/{ids['aid']}/triggers/{made['id']}/update"
    invalid(sandbox, update, {"actions": []}, "actions")
    invalid(sandbox, update, {"event": ""}, "event")


HOURS = {"active": True, "days": [1, 2], "timezone": 1, "config": []}


def test_office_hour_fields(sandbox, ids):
    path = f"accounts/{ids['aid']}/officehours/update"

    def day(*times, dow=1):
        return [{"dow": dow, "times": [{"from": f, "to": t} for f, t in times]}]

    status, body, _ = call(
        sandbox, "POST", path, json={**HOURS, "config": day((0, 1440))}
    )
    assert status == 200 and body["config"] == day((0, 1440))
    for change, hint in [
        ({"active": None}, "active"),
        ({"days": None}, "days"),
        ({"days": [7]}, "days"),
        ({"days": [-1]}, "days"),
        ({"days": [1, 1]}, "days"),
        ({"days": ["1"]}, "days"),
        ({"timezone": None}, "timezone"),
        ({"timezone": 15}, "timezone"),
        ({"timezone": -13}, "timezone"),
        ({"timezone": "Europe/Prague"}, "timezone"),
        ({"config": None}, "config"),
        ({"config": day((480, 705), dow=7)}, "config"),
        ({"config": day((480, 705)) + day((500, 600))}, "config"),  # dow twice
        ({"config": day((705, 480))}, "config"),
        ({"config": day((480, 480))}, "config"),
        ({"config": day((-1, 480))}, "config"),
        ({"config": day((480, 1441))}, "config"),
        ({"config": day((480, 720), (700, 800))}, "config"),  # overlap
        ({"config": [{"dow": 1, "times": [{"from": 1.5, "to": 20}]}]}, "config"),
        ({"config": [{"dow": 1}]}, "config"),
        ({"zone": "CET"}, "zone"),
    ]:
        payload = {k: v for k, v in {**HOURS, **change}.items() if v is not None}
        invalid(sandbox, path, payload, hint)
