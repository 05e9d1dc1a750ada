"""Every Smartsupp client method against the sandbox over real HTTP: the
production code path (the `apiKey` header, the wrapper's URL forms, GET and
POST only, error mapping), with only the base URL and key of a sandbox key."""

from __future__ import annotations

import logging

import pytest
import requests

from cobrowse_portal.vendorkit import errors, outbound, registry
from cobrowse_portal.vendorkit.redaction import redact
from vendors.smartsupp.client import DEFAULT_BASE_URL, KEY_HEADER
from vendors.smartsupp.sandbox.models import Account, OfficeHours, Trigger, User
from vendors.smartsupp.sandbox.seed import (
    CLIENT_KEY,
    CLIENT_NAME,
    FIXED_USERS,
    MAIN_NAME,
    RESELLER_KEY,
    TRIGGERS_PER_ACCOUNT,
    USERS_PER_ACCOUNT,
)
from vendors.smartsupp.schemas import Action, Condition, DayHours, TimeRange

from .conftest import SANDBOX, SEED_SIZE, client_for

pytestmark = SANDBOX

#: The guide's trigger example, as sent.
GREETING = {
    "active": True,
    "name": "1st visit greeting",
    "description": "Greeting message to a visitor who visits your website for "
    "the 1st time",
    "event": "onload",
    "conditions": [
        {"name": "delay_site", "value": 60},
        {"name": "is_visitor_send_message", "value": False},
        {"name": "is_visitor_served", "value": False},
        {"name": "number_of_visits", "value": 1},
    ],
    "actions": [
        {
            "name": "message",
            "agent_nick": "Support",
            "message": "Hello, we have noticed you are here for the 1st time.",
        }
    ],
}


@pytest.fixture
def sent(monkeypatch) -> list[requests.PreparedRequest]:
    """Every request the client sends (after the outbound policy's check)."""
    seen: list = []
    real = requests.adapters.HTTPAdapter.send

    def send(self, request, **kwargs):
        seen.append(request)
        return real(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return seen


def test_test_and_check_connection(api, sent):
    assert api.test() is True
    assert api.check_connection() == "API key accepted"
    assert [r.method for r in sent] == ["GET", "GET"]
    assert all(r.path_url == "/sandbox/smartsupp/test" for r in sent)
    # The key travels in the header, never in the URL.
    assert all(r.headers[KEY_HEADER] == RESELLER_KEY for r in sent)
    assert all(RESELLER_KEY not in r.url for r in sent)


def test_a_rejected_key_is_an_auth_error_that_never_repeats_the_key(sandbox):
    api = client_for(sandbox, "not-a-key-123456")
    with pytest.raises(errors.AuthError) as info:
        api.test()
    assert info.value.status == 401 and info.value.vendor_code == "AuthError"
    assert "not-a-key-123456" not in str(info.value)
    assert "API key" in info.value.vendor_message
    with pytest.raises(errors.AuthError):
        api.list_accounts()


def test_the_key_is_masked_in_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    api.list_accounts()
    logging.getLogger("cobrowse.test").info("headers %s", {KEY_HEADER: RESELLER_KEY})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert RESELLER_KEY not in text and "********" in text
    # An apiKey the portal never registered is masked by its shape too, as a
    # header (`apiKey: …`), a dict and the query-string form.
    for line in (
        "apiKey: unregistered-value-1",
        str({"apiKey": "unregistered-value-1"}),
        "GET http://api.smartsupp.com/test?apiKey=unregistered-value-1",
    ):
        assert "unregistered-value-1" not in redact(line)


def test_the_documented_http_root_passes_the_outbound_policy(monkeypatch):
    # Plain http is allowed for a vendor whose registered default is http
    # (vendorkit.outbound.documented_http_origins): Smartsupp's is.
    if "smartsupp" not in {s.slug for s in registry.all_vendors()}:
        spec = registry.VendorSpec(
            slug="smartsupp",
            label="Smartsupp",
            client_class="vendors.smartsupp.client.SmartsuppClient",
            default_base_url=DEFAULT_BASE_URL,
            credential_fields=(),
        )
        monkeypatch.setitem(registry._registry, "smartsupp", spec)
    assert registry.get("smartsupp").default_base_url == DEFAULT_BASE_URL
    outbound.check_url(f"{DEFAULT_BASE_URL}/accounts/")
    with pytest.raises(errors.OutboundBlocked):
        outbound.check_url("http://api.smartsupp.com.evil.test/accounts/")


# --- accounts -------------------------------------------------------------------
def test_list_accounts_sees_only_the_keys_own(api, sandbox, sent):
    accounts = api.list_accounts()
    assert sent[0].path_url == "/sandbox/smartsupp/accounts/"  # trailing slash
    stored = Account.objects.filter(owner__key=RESELLER_KEY).order_by("number")
    assert [a.id for a in accounts] == [str(a.number) for a in stored]
    assert len(accounts) == SEED_SIZE and accounts[0].title == MAIN_NAME
    assert all(a.account_key and a.lang for a in accounts)
    client = client_for(sandbox, CLIENT_KEY).list_accounts()
    assert [a.title for a in client] == [CLIENT_NAME]
    with pytest.raises(errors.NotFound):
        client_for(sandbox, CLIENT_KEY).get_account(accounts[0].id)


def test_create_get_update_delete_an_account(api, sent):
    made = api.create_account("New Shop", "cs")
    assert made.id and made.title == "New Shop" and made.lang == "cs"
    assert len(made.account_key) == 38
    assert (sent[0].method, sent[0].path_url) == (
        "POST",
        "/sandbox/smartsupp/accounts/create",
    )
    got = api.get_account(made.id)
    assert (got.id, got.account_key) == (made.id, made.account_key)
    updated = api.update_account(made.id, title="Renamed Shop", lang="de")
    assert (updated.title, updated.lang) == ("Renamed Shop", "de")
    assert api.get_account(made.id).title == "Renamed Shop"
    assert api.delete_account(made.id) is None
    assert sent[-1].method == "GET"
    assert sent[-1].path_url.endswith(f"/accounts/{made.id}/delete")
    with pytest.raises(errors.NotFound) as info:
        api.get_account(made.id)
    assert info.value.status == 404
    assert not Account.objects.filter(number=int(made.id)).exists()


def test_deleting_an_account_deletes_its_users_triggers_and_hours(api, main_id):
    pk = Account.objects.get(number=int(main_id)).pk
    api.delete_account(main_id)
    for model in (User, Trigger, OfficeHours):
        assert not model.objects.filter(account_id=pk).exists()


def test_account_fields_are_checked_before_sending(api, sent):
    with pytest.raises(errors.PermanentVendorError) as info:
        api.create_account("Shop", "EN")
    assert "lang" in info.value.field_errors
    with pytest.raises(errors.PermanentVendorError):
        api.create_account("  ", "en")
    with pytest.raises(ValueError):
        api.update_account("1001", colour="red")
    assert sent == []


def test_ids_are_quoted_into_the_path(api):
    for bad in ("", "a/b", ".."):
        with pytest.raises(errors.NotFound):
            api.get_account(bad)
    with pytest.raises(errors.NotFound):
        api.get_account("1001?x=1")  # quoted: a path segment, not a query


# --- users ----------------------------------------------------------------------
def test_list_and_get_users(api, main_id, sent):
    users = api.list_users(main_id)
    assert sent[0].path_url == f"/sandbox/smartsupp/accounts/{main_id}/users/"
    assert len(users) == USERS_PER_ACCOUNT
    first = [(u.role, u.email, u.fullname, u.nickname) for u in users[:3]]
    assert first == FIXED_USERS
    assert all(u.role in ("agent", "admin") and u.active is not None for u in users)
    one = api.get_user(main_id, users[1].id)
    assert (one.id, one.email) == (users[1].id, "bob@acme.test")


def test_create_update_delete_a_user(api, main_id):
    made = api.create_user(
        main_id, "agent", "john@doe.com", "John Doe", "john.doe", nickname="Johnny"
    )
    assert made.id and made.role == "agent" and made.email == "john@doe.com"
    assert made.nickname == "Johnny" and made.lang == "en"  # the account's
    stored = User.objects.get(number=int(made.id))
    assert stored.password_length == len("john.doe")  # the password is not kept
    updated = api.update_user(main_id, made.id, role="admin", fullname="John D.")
    assert (updated.role, updated.fullname) == ("admin", "John D.")
    assert api.get_user(main_id, made.id).role == "admin"
    api.delete_user(main_id, made.id)
    with pytest.raises(errors.NotFound):
        api.get_user(main_id, made.id)
    assert made.id not in {u.id for u in api.list_users(main_id)}


def test_a_taken_email_is_a_field_error(api, main_id, sandbox):
    other = client_for(sandbox, CLIENT_KEY)
    (client_account,) = other.list_accounts()
    # E-mails are logins: unique across accounts and keys, whatever the case.
    with pytest.raises(errors.PermanentVendorError) as info:
        other.create_user(client_account.id, "agent", "Bob@Acme.test", "B", "secret1")
    assert info.value.status == 400 and info.value.vendor_code == "EmailExists"
    assert info.value.field_errors == {
        "email": ["A user with this email already exists."]
    }
    bob = next(u for u in api.list_users(main_id) if u.email == "bob@acme.test")
    carol = next(u for u in api.list_users(main_id) if u.email == "carol@acme.test")
    with pytest.raises(errors.PermanentVendorError) as info:
        api.update_user(main_id, carol.id, email=bob.email)
    assert "email" in info.value.field_errors


def test_user_field_errors_name_the_field(api, main_id):
    cases = [
        (dict(email="not-an-email"), "email"),
        (dict(password="short"), "password"),
        (dict(fullname=""), "fullname"),
    ]
    for change, field in cases:
        args = dict(
            role="agent", email="ok@example.com", fullname="Ok", password="secret1"
        )
        args.update(change)
        with pytest.raises(errors.PermanentVendorError) as info:
            api.create_user(main_id, **args)
        assert info.value.status == 400 and field in info.value.field_errors, field
    with pytest.raises(errors.PermanentVendorError) as info:
        api.create_user(main_id, "owner", "x@example.com", "X", "secret1")
    assert "role" in info.value.field_errors  # refused before sending


# --- triggers -------------------------------------------------------------------
def test_create_the_guides_trigger_and_read_it_back(api, main_id, sent):
    made = api.create_trigger(main_id, **GREETING)
    assert (sent[0].method, sent[0].path_url) == (
        "POST",
        f"/sandbox/smartsupp/accounts/{main_id}/triggers/create",
    )
    assert made.id and made.name == "1st visit greeting" and made.event == "onload"
    assert made.only_once is True and made.constraints == "all"  # Smartsupp adds
    assert [c.as_json() for c in made.conditions] == GREETING["conditions"]
    text = GREETING["actions"][0]["message"]
    assert made.actions == [Action("message", "Support", text)]
    got = api.get_trigger(main_id, made.id)
    assert got.conditions == made.conditions and got.active is True
    listed = api.list_triggers(main_id)
    assert len(listed) == TRIGGERS_PER_ACCOUNT + 1 and listed[-1].id == made.id


def test_update_deactivate_and_delete_a_trigger(api, main_id):
    made = api.create_trigger(
        main_id,
        name="Pricing",
        event="onload",
        conditions=[Condition("delay_page", 180), Condition("url", "/pricing")],
        actions=[Action(agent_nick="Sales", message="Can I help?")],
    )
    off = api.update_trigger(main_id, made.id, active=False)
    assert off.active is False and off.name == "Pricing"
    changed = api.update_trigger(
        main_id, made.id, conditions=[Condition("delay_page", 60)], name="Pricing 2"
    )
    assert changed.conditions == [Condition("delay_page", 60)]
    assert api.get_trigger(main_id, made.id).name == "Pricing 2"
    api.delete_trigger(main_id, made.id)
    with pytest.raises(errors.NotFound):
        api.get_trigger(main_id, made.id)


def test_trigger_shape_errors_name_the_field(api, main_id):
    for change, field in [
        ({"event": "On Load!"}, "event"),
        ({"conditions": [{"name": "delay_site"}]}, "conditions"),
        ({"actions": []}, "actions"),
        ({"actions": [{"name": "message", "message": ""}]}, "actions"),
    ]:
        with pytest.raises(errors.PermanentVendorError) as info:
            api.create_trigger(main_id, **{**GREETING, **change})
        assert field in info.value.field_errors, change


# --- office hours ---------------------------------------------------------------
def test_update_office_hours_in_the_documented_minutes(api, main_id, sent):
    hours = api.update_office_hours(
        main_id,
        active=True,
        days=[1, 2, 6, 0],
        timezone=1,
        config=[
            DayHours(1, [TimeRange(780, 1020), TimeRange(480, 705)]),
            {"dow": 2, "times": [{"from": 480, "to": 705}]},
        ],
    )
    assert sent[0].method == "POST"
    assert sent[0].path_url.endswith(f"/accounts/{main_id}/officehours/update")
    assert hours.active is True and hours.days == [1, 2, 6, 0] and hours.timezone == 1
    assert hours.config[0].times == [TimeRange(480, 705), TimeRange(780, 1020)]
    stored = OfficeHours.objects.get(account__number=int(main_id))
    assert stored.config == [
        {"dow": 1, "times": [{"from": 480, "to": 705}, {"from": 780, "to": 1020}]},
        {"dow": 2, "times": [{"from": 480, "to": 705}]},
    ]


OVERLAP = {"from": 700, "to": 800}


def test_office_hours_are_checked_before_sending(api, main_id, sent):
    bad = [
        dict(days=[7]),
        dict(days=[1, 1]),
        dict(config=[{"dow": 8, "times": []}]),
        dict(config=[{"dow": 1, "times": [{"from": 600, "to": 540}]}]),
        dict(config=[{"dow": 1, "times": [{"from": 0, "to": 1441}]}]),
        dict(config=[{"dow": 1, "times": [{"from": 480, "to": 720}, OVERLAP]}]),
        dict(timezone="CET"),
    ]
    for change in bad:
        args = dict(active=True, days=[1], timezone=0, config=[])
        args.update(change)
        with pytest.raises(errors.PermanentVendorError):
            api.update_office_hours(main_id, **args)
    assert sent == []
