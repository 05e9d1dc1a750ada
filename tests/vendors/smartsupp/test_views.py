"""Smartsupp pages per role and workspace, on stored rows (no vendor call on
render), and every write from the UI against the sandbox over HTTP: accounts
(chat code escaped, a client workspace offered, delete behind a confirmation),
users (the password never stored or rendered back), the trigger editor, the
office-hours editor (refusals next to the day), refusals next to the field
(422), input kept when Smartsupp is away (503) and kept writes for the
retryable ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core.choices import Role, WorkspaceKind
from cobrowse_portal.core.models import PendingWrite, VendorAccount, Workspace
from tests.conftest import make_user, sandbox_account
from vendors.smartsupp import services
from vendors.smartsupp.models import (
    SmartsuppAccount,
    SmartsuppChat,
    SmartsuppChatMessage,
    SmartsuppOfficeHours,
    SmartsuppTrigger,
    SmartsuppUser,
)
from vendors.smartsupp.sandbox import models as sbx

from .conftest import SANDBOX
from .pages import pages  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("pages")

PASSWORD = "s3cret-Pa55word!"


def url(name, account, *args, sa=None) -> str:
    out = reverse(f"smartsupp:{name}", args=[account.pk, *args])
    return out + (f"?sa={sa.pk}" if sa is not None else "")


def text(response) -> str:
    return response.content.decode()


def said(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def offline_account(workspace, name="Smartsupp partner") -> VendorAccount:
    account = VendorAccount(
        workspace=workspace,
        vendor="smartsupp",
        name=name,
        base_url="http://api.smartsupp.com",
    )
    account.set_credentials({"api_key": "k-offline"})
    account.save()
    return account


def stored_rows(account, tag="Acme") -> dict:
    now = timezone.now()
    sa = SmartsuppAccount.objects.create(
        account=account,
        external_id=f"{tag}-1",
        title=f"{tag} Shop",
        lang="en",
        account_key='k</script><b>"x',
        synced_at=now,
    )
    user = SmartsuppUser.objects.create(
        account=account,
        smartsupp_account=sa,
        external_id=f"{tag}-u1",
        role="agent",
        email=f"ann@{tag.lower()}.test",
        fullname=f"Ann {tag}",
        synced_at=now,
    )
    trigger = SmartsuppTrigger.objects.create(
        account=account,
        smartsupp_account=sa,
        external_id=f"{tag}-t1",
        name=f"{tag} greeting",
        event="onload",
        conditions=[{"name": "delay_site", "value": 30}],
        actions=[{"name": "message", "agent_nick": "Ann", "message": "Hi there"}],
        synced_at=now,
    )
    hours = SmartsuppOfficeHours.objects.create(
        account=account,
        smartsupp_account=sa,
        external_id=sa.external_id,
        active=True,
        days=[1],
        timezone="1",
        config=[{"dow": 1, "times": [{"from": 480, "to": 1020}]}],
        synced_at=now,
    )
    chat = SmartsuppChat.objects.create(
        account=account,
        external_id=f"{tag}-c1",
        smartsupp_account_id=sa.external_id,
        begin_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        end_at=datetime(2026, 11, 30, 9, 5, tzinfo=UTC),
        duration=300,
        is_missed=True,
        visitor_name=f"Vera {tag}",
        visitor_email=f"vera@{tag.lower()}.test",
        first_url="javascript:alert(1)",
        synced_at=now,
    )
    SmartsuppChatMessage.objects.create(
        chat=chat, position=0, type="visitor", name="Vera", content="<b>help</b>"
    )
    return {"sa": sa, "user": user, "trigger": trigger, "hours": hours, "chat": chat}


@pytest.fixture
def desk(reseller):
    return offline_account(reseller)


@pytest.fixture
def rows(desk):
    return stored_rows(desk)


PAGES = [
    ("chats", ()),
    ("accounts", ()),
    ("users", ()),
    ("triggers", ()),
    ("officehours", ()),
]


# --- pages on stored data ------------------------------------------------------------
def test_pages_render_stored_rows_without_calling_smartsupp(
    desk, rows, login, personas
):
    c = login(personas["manager"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        pages_ = {name: c.get(url(name, desk)) for name, _ in PAGES}
        pages_["chat"] = c.get(url("chat", desk, rows["chat"].pk))
        pages_["account_edit"] = c.get(url("account_edit", desk, rows["sa"].pk))
        pages_["user_edit"] = c.get(url("user_edit", desk, rows["user"].pk))
        pages_["trigger_edit"] = c.get(url("trigger_edit", desk, rows["trigger"].pk))
        pages_["user_add"] = c.get(url("user_add", desk, sa=rows["sa"]))
        pages_["trigger_add"] = c.get(url("trigger_add", desk, sa=rows["sa"]))
        pages_["account_add"] = c.get(url("account_add", desk))
        pages_["account_delete"] = c.get(url("account_delete", desk, rows["sa"].pk))
        assert not rsps.calls
    assert {k: r.status_code for k, r in pages_.items()} == dict.fromkeys(pages_, 200)
    assert "Vera Acme" in text(pages_["chats"]) and "missed" in text(pages_["chats"])
    assert "Ann Acme" in text(pages_["users"])
    assert "Acme greeting" in text(pages_["triggers"])
    assert "Hi there" in text(pages_["triggers"])
    week = text(pages_["officehours"])
    assert 'value="08:00"' in week and 'value="17:00"' in week
    editor = text(pages_["trigger_edit"])
    assert 'value="delay_site"' in editor and 'value="30"' in editor
    transcript = text(pages_["chat"])
    assert "&lt;b&gt;help&lt;/b&gt;" in transcript and "<b>help</b>" not in transcript
    assert 'href="javascript:' not in transcript


def test_the_chat_code_is_escaped_and_copyable(desk, rows, login, personas):
    page = text(login(personas["manager"]).get(url("accounts", desk)))
    assert "</script><b>" not in page
    assert "data-copy=" in page and "_smartsupp.key" in page
    assert "\\u003c/script&gt;" in page  # the key's `<` escaped in the script too


def test_account_picker_scopes_users_and_triggers(desk, rows, login, personas):
    other = stored_rows(desk, tag="Beta")
    c = login(personas["manager"])
    users = text(c.get(url("users", desk, sa=other["sa"])))
    assert "Ann Beta" in users and "Ann Acme" not in users
    first = text(c.get(url("users", desk)))  # the first by title by default
    assert "Ann Acme" in first and "Ann Beta" not in first
    assert "Beta greeting" in text(c.get(url("triggers", desk, sa=other["sa"])))


def test_chat_filters(desk, rows, login, personas):
    c = login(personas["agent"])
    assert "Vera Acme" in text(c.get(url("chats", desk) + "?status=missed"))
    assert "Vera Acme" not in text(c.get(url("chats", desk) + "?status=served"))
    other = stored_rows(desk, tag="Beta")
    beta = text(c.get(url("chats", desk) + "?smartsupp_account=Beta-1"))
    assert "Vera Beta" in beta and "Vera Acme" not in beta
    assert other["chat"].smartsupp_account_id == "Beta-1"
    found = c.get(
        url("chats", desk) + "?visitor=vera@acme.test", HTTP_HX_REQUEST="true"
    )
    assert found.status_code == 200 and "Vera Acme" in text(found)
    assert "<html" not in text(found)  # the results fragment only


# --- roles and workspaces -----------------------------------------------------------
def test_agents_see_chats_only(desk, rows, login, personas):
    c = login(personas["agent"])
    assert c.get(url("chats", desk)).status_code == 200
    assert c.get(url("chat", desk, rows["chat"].pk)).status_code == 200
    for name, _ in PAGES[1:]:
        assert c.get(url(name, desk)).status_code == 403, name
    assert c.post(url("trigger_active", desk, rows["trigger"].pk)).status_code == 403
    assert c.get(url("user_delete", desk, rows["user"].pk)).status_code == 403


def test_other_workspaces_see_nothing(desk, rows, login, personas, other_workspace):
    c = login(personas["outsider"])
    for name, _ in PAGES:
        assert c.get(url(name, desk)).status_code == 404, name
    theirs = offline_account(other_workspace, "Theirs")
    # Our rows under their account id: not found either.
    assert c.get(url("chat", theirs, rows["chat"].pk)).status_code == 404
    assert c.get(url("user_edit", theirs, rows["user"].pk)).status_code == 404
    assert c.get(url("users", theirs, sa=rows["sa"])).status_code == 404


def test_accounts_are_for_reseller_workspaces(client_workspace, login):
    account = offline_account(client_workspace, "Client desk")
    rows = stored_rows(account, tag="Globex")
    c = login(make_user("cleo", client_workspace, Role.ADMIN))
    assert c.get(url("accounts", account)).status_code == 404
    assert c.get(url("account_add", account)).status_code == 404
    assert c.get(url("account_edit", account, rows["sa"].pk)).status_code == 404
    assert c.get(url("users", account)).status_code == 200
    assert c.get(url("officehours", account)).status_code == 200


# --- writes against the sandbox -----------------------------------------------------
@pytest.fixture
def live(reseller, sandbox, live_server):
    return sandbox_account(reseller, live_server.url, vendor="smartsupp")


@pytest.fixture
def acme(live, main_id):
    stub = SmartsuppAccount.objects.create(account=live, external_id=main_id)
    return services.load_account(live, stub)


@SANDBOX
def test_account_create_edit_delete(live, login, personas, reseller):
    c = login(personas["manager"])
    r = c.post(
        url("account_add", live),
        {"title": "Planted Co", "lang": "en", "create_workspace": "on"},
        follow=True,
    )
    sa = SmartsuppAccount.objects.get(account=live, title="Planted Co")
    assert "created at Smartsupp" in said(r) and sa.client_workspace is not None
    remote = sbx.Account.objects.get(number=int(sa.external_id))
    assert remote.account_key in text(r)  # the chat code, on the account's page
    # Edit.
    r = c.post(url("account_edit", live, sa.pk), {"title": "Planted Two", "lang": "de"})
    assert r.status_code == 302
    remote.refresh_from_db()
    assert (remote.title, remote.lang) == ("Planted Two", "de")
    # Reload from Smartsupp (GET accounts/{aid}/get).
    sbx.Account.objects.filter(pk=remote.pk).update(title="Changed There")
    c.post(url("account_refresh", live, sa.pk))
    sa.refresh_from_db()
    assert sa.title == "Changed There"
    # Delete: a confirmation first, and the client workspace's fate asked.
    page = c.get(url("account_delete", live, sa.pk))
    assert page.status_code == 200 and 'name="workspace"' in text(page)
    r = c.post(url("account_delete", live, sa.pk), {"confirm": "on"})
    assert r.status_code == 422 and sbx.Account.objects.filter(pk=remote.pk).exists()
    r = c.post(
        url("account_delete", live, sa.pk), {"confirm": "on", "workspace": "archive"}
    )
    assert r.status_code == 302
    assert not sbx.Account.objects.filter(pk=remote.pk).exists()
    sa.refresh_from_db()
    assert sa.removed_at is not None
    assert Workspace.objects.get(pk=sa.client_workspace_id).archived_at is not None


@SANDBOX
def test_account_refusal_next_to_the_field(live, login, personas):
    c = login(personas["manager"])
    r = c.post(url("account_add", live), {"title": " ", "lang": "en"})
    assert r.status_code == 422
    assert not Workspace.objects.filter(kind=WorkspaceKind.CLIENT).exists()


@SANDBOX
def test_user_add_keeps_no_password(live, acme, login, personas):
    c = login(personas["manager"])
    r = c.post(
        url("user_add", live, sa=acme),
        {
            "role": "agent",
            "email": "dora@acme.test",
            "fullname": "Dora Agent",
            "password": PASSWORD,
        },
        follow=True,
    )
    assert "added to" in said(r) and "Dora Agent" in text(r)
    assert PASSWORD not in text(r)
    user = SmartsuppUser.objects.get(email="dora@acme.test")
    assert sbx.User.objects.get(number=int(user.external_id)).password_length == len(
        PASSWORD
    )
    everything = json.dumps(
        [
            list(SmartsuppUser.objects.values()),
            list(PendingWrite.objects.values()),
        ],
        default=str,
    )
    assert PASSWORD not in everything
    # Refused (an e-mail taken): next to the field, the password not rendered back.
    r = c.post(
        url("user_add", live, sa=acme),
        {
            "role": "agent",
            "email": "alice@acme.test",
            "fullname": "Twin",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 422
    assert r.context["form"].errors.get("email")
    assert PASSWORD not in text(r) and 'value="Twin"' in text(r)


@SANDBOX
def test_user_edit_and_delete(live, acme, login, personas):
    remote = sbx.User.objects.get(email="bob@acme.test")
    bob = services.load_user(
        live,
        SmartsuppUser.objects.create(
            account=live, smartsupp_account=acme, external_id=str(remote.number)
        ),
    )
    c = login(personas["manager"])
    r = c.post(
        url("user_edit", live, bob.pk),
        {"role": "admin", "fullname": "Robert B", "nickname": "Rob"},
    )
    assert r.status_code == 302
    remote.refresh_from_db()
    assert (remote.role, remote.fullname, remote.nickname) == (
        "admin",
        "Robert B",
        "Rob",
    )
    c.post(url("user_refresh", live, bob.pk))
    assert c.get(url("user_delete", live, bob.pk)).status_code == 200
    assert c.post(url("user_delete", live, bob.pk), {}).status_code == 422
    c.post(url("user_delete", live, bob.pk), {"confirm": "on"})
    assert not sbx.User.objects.filter(pk=remote.pk).exists()
    assert SmartsuppUser.objects.get(pk=bob.pk).removed_at is not None


TRIGGER = {
    "name": "1st visit greeting",
    "event": "onload",
    "constraints": "all",
    "active": "on",
    "condition_name": ["delay_site", "number_of_visits"],
    "condition_value": ["60", "1"],
    "action_nick": "Support",
    "action_message": "Hello, first time here?",
}


@SANDBOX
def test_trigger_editor_create_edit_toggle_delete(live, acme, login, personas):
    c = login(personas["manager"])
    r = c.post(url("trigger_add", live, sa=acme), TRIGGER, follow=True)
    assert "created at Smartsupp" in said(r)
    trigger = SmartsuppTrigger.objects.get(account=live, name="1st visit greeting")
    remote = sbx.Trigger.objects.get(number=int(trigger.external_id))
    assert remote.conditions == [
        {"name": "delay_site", "value": 60},
        {"name": "number_of_visits", "value": 1},
    ]
    assert remote.actions[0]["message"] == "Hello, first time here?"
    # Edit: one condition removed, an unknown one typed.
    edited = {
        **TRIGGER,
        "condition_name": ["visitor_city"],
        "condition_value": ["Brno"],
    }
    assert c.post(url("trigger_edit", live, trigger.pk), edited).status_code == 302
    remote.refresh_from_db()
    assert remote.conditions == [{"name": "visitor_city", "value": "Brno"}]
    # Deactivate, activate.
    c.post(url("trigger_active", live, trigger.pk), {"active": "0"})
    remote.refresh_from_db()
    assert remote.active is False
    assert SmartsuppTrigger.objects.get(pk=trigger.pk).active is False
    c.post(url("trigger_active", live, trigger.pk), {"active": "1"})
    remote.refresh_from_db()
    assert remote.active is True
    c.post(url("trigger_refresh", live, trigger.pk))
    c.post(url("trigger_delete", live, trigger.pk), {"confirm": "on"})
    assert not sbx.Trigger.objects.filter(pk=remote.pk).exists()


@SANDBOX
def test_trigger_row_refusal_keeps_the_rows(live, acme, login, personas):
    c = login(personas["manager"])
    bad = {**TRIGGER, "condition_value": ["soon", "1"]}
    r = c.post(url("trigger_add", live, sa=acme), bad)
    assert r.status_code == 422
    assert "delay_site is a whole number" in text(r)
    assert 'value="soon"' in text(r) and 'value="number_of_visits"' in text(r)
    assert not SmartsuppTrigger.objects.filter(account=live).exists()


@SANDBOX
def test_office_hours_editor(live, acme, login, personas):
    c = login(personas["manager"])
    week = {
        "active": "on",
        "timezone": "1",
        "open": ["1", "2"],
        "from_1": ["08:00", "13:00"],
        "to_1": ["11:45", "17:00"],
        "from_2": "08:00",
        "to_2": "11:45",
    }
    r = c.post(url("officehours", live, sa=acme), week, follow=True)
    assert "saved at Smartsupp" in said(r)
    remote = sbx.OfficeHours.objects.get(account__number=int(acme.external_id))
    assert remote.config == [
        {"dow": 1, "times": [{"from": 480, "to": 705}, {"from": 780, "to": 1020}]},
        {"dow": 2, "times": [{"from": 480, "to": 705}]},
    ]
    assert (remote.days, remote.timezone, remote.active) == ([1, 2], 1, True)
    # Shown back from the stored row: times, zone, on.
    assert 'value="13:00"' in text(r)
    assert r.context["form"]["timezone"].value() == "1"
    assert r.context["form"]["active"].value() is True
    # Overlap: refused next to the day, nothing sent.
    overlap = {**week, "from_2": ["08:00", "10:00"], "to_2": ["11:00", "12:00"]}
    r = c.post(url("officehours", live, sa=acme), overlap)
    assert r.status_code == 422
    page = text(r)
    day = page[page.index('id="day-2"') : page.index('id="day-3"')]
    assert "Tuesday: time ranges overlap." in day
    remote.refresh_from_db()
    assert remote.config[1] == {"dow": 2, "times": [{"from": 480, "to": 705}]}


# --- Smartsupp away ------------------------------------------------------------------
def test_away_creates_keep_the_input_updates_are_kept(desk, rows, login, personas):
    c = login(personas["manager"])
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        r = c.post(url("account_add", desk), {"title": "Planted Co", "lang": "en"})
        assert r.status_code == 503 and 'value="Planted Co"' in text(r)
        r = c.post(url("trigger_add", desk, sa=rows["sa"]), TRIGGER)
        assert r.status_code == 503 and 'value="delay_site"' in text(r)
        r = c.post(
            url("user_add", desk, sa=rows["sa"]),
            {
                "role": "agent",
                "email": "d@x.test",
                "fullname": "D",
                "password": PASSWORD,
            },
        )
        assert r.status_code == 503 and PASSWORD not in text(r)
        r = c.post(
            url("user_edit", desk, rows["user"].pk),
            {"role": "admin", "fullname": "Ann Kept", "nickname": ""},
            follow=True,
        )
        assert "will be retried automatically" in text(r)
        r = c.post(
            url("trigger_active", desk, rows["trigger"].pk),
            {"active": "0"},
            follow=True,
        )
        r = c.post(
            url("officehours", desk, sa=rows["sa"]),
            {"timezone": "0", "open": "3", "from_3": "09:00", "to_3": "10:00"},
        )
        assert r.status_code == 302
    kept = PendingWrite.objects.filter(account=desk).order_by("pk")
    assert [w.action.rsplit(".", 1)[1] for w in kept] == [
        "update_user",
        "set_trigger_active",
        "update_office_hours",
    ]
    assert PASSWORD not in json.dumps(list(kept.values()), default=str)
    # The users page shows the kept change.
    assert "Ann Kept" in text(c.get(url("users", desk)))
    assert SmartsuppUser.objects.get(pk=rows["user"].pk).fullname == "Ann Acme"


def test_the_activity_index_links_to_the_transcript(desk, rows, login, personas):
    from cobrowse_portal.core.models import Activity

    activity = Activity.objects.get(account=desk, external_id=rows["chat"].external_id)
    assert activity.link == url("chat", desk, rows["chat"].pk)
    r = login(personas["agent"]).get(activity.link)
    assert r.status_code == 200 and "Vera Acme" in text(r)


@SANDBOX
def test_a_kept_office_hours_write_is_replayed_when_smartsupp_is_back(
    live, acme, login, personas
):
    from cobrowse_portal.core.tasks import retry_pending_write

    c = login(personas["manager"])
    week = {"timezone": "2", "open": "4", "from_4": "10:00", "to_4": "16:30"}
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        r = c.post(url("officehours", live, sa=acme), week, follow=True)
    assert "will be retried automatically" in text(r)
    kept = PendingWrite.objects.get(account=live)
    assert kept.kwargs == {
        "active": False,
        "days": [4],
        "timezone": 2,
        "config": [{"dow": 4, "times": [{"from": 600, "to": 990}]}],
    }
    assert not SmartsuppOfficeHours.objects.filter(smartsupp_account=acme).exists()
    assert retry_pending_write(kept.pk).startswith("succeeded")
    remote = sbx.OfficeHours.objects.get(account__number=int(acme.external_id))
    assert (remote.days, remote.timezone) == ([4], 2)
    stored = SmartsuppOfficeHours.objects.get(smartsupp_account=acme)
    assert stored.week()[4] == [("10:00", "16:30")]
