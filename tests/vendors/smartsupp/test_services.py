"""Smartsupp services against the sandbox over HTTP: every write stores
Smartsupp's answer (and only after Smartsupp took it), a refusal leaves the
rows as they were, the password is sent once and never kept, deletes mark the
rows removed (an account's users leave the agent directory with it), reloads
read the vendor's current record, and a refused key marks the account."""

from __future__ import annotations

import json
import logging

import pytest

from cobrowse_portal.core.choices import AccountStatus, WorkspaceKind
from cobrowse_portal.core.models import VendorAccount, VendorAgent, Workspace
from cobrowse_portal.vendorkit import errors
from tests.conftest import sandbox_account
from vendors.smartsupp import services
from vendors.smartsupp.models import (
    SmartsuppAccount,
    SmartsuppOfficeHours,
    SmartsuppTrigger,
    SmartsuppUser,
)
from vendors.smartsupp.sandbox import models as sbx

from .conftest import SANDBOX
from .pages import pages  # noqa: F401 - the fixture

pytestmark = [SANDBOX, pytest.mark.usefixtures("pages")]

PASSWORD = "s3cret-Pa55word!"


@pytest.fixture
def account(reseller, sandbox, live_server) -> VendorAccount:
    return sandbox_account(reseller, live_server.url, vendor="smartsupp")


@pytest.fixture
def acme(account, main_id) -> SmartsuppAccount:
    """The local copy of the sandbox's first account, read from Smartsupp."""
    stub = SmartsuppAccount.objects.create(account=account, external_id=main_id)
    return services.load_account(account, stub)


def local_user(account, sa, email) -> SmartsuppUser:
    remote = sbx.User.objects.get(email=email)
    stub = SmartsuppUser.objects.create(
        account=account, smartsupp_account=sa, external_id=str(remote.number)
    )
    return services.load_user(account, stub)


def local_trigger(account, sa) -> SmartsuppTrigger:
    remote = sbx.Trigger.objects.filter(account__number=int(sa.external_id)).first()
    stub = SmartsuppTrigger.objects.create(
        account=account, smartsupp_account=sa, external_id=str(remote.number)
    )
    return services.load_trigger(account, stub)


# --- accounts -----------------------------------------------------------------------
def test_load_account_reads_smartsupp(acme):
    assert acme.title == "Acme Support (sandbox)"
    assert acme.lang and acme.account_key
    assert "_smartsupp.key" in acme.chat_code


def test_create_account_stores_the_answer_with_its_key(account, reseller):
    result = services.create_account(account, title="Planted Co", lang="de")
    sa = result.smartsupp_account
    remote = sbx.Account.objects.get(number=int(sa.external_id))
    assert (sa.title, sa.lang, sa.account_key) == (
        "Planted Co",
        "de",
        remote.account_key,
    )
    assert result.workspace is None and sa.client_workspace is None


def test_create_account_with_a_client_workspace(account, reseller):
    result = services.create_account(
        account, title="Planted Co", lang="en", create_workspace=True, parent=reseller
    )
    ws = result.workspace
    assert ws.kind == WorkspaceKind.CLIENT and ws.parent == reseller
    assert (
        SmartsuppAccount.objects.get(pk=result.smartsupp_account.pk).client_workspace
        == ws
    )
    # No copy of the partner key anywhere in the client workspace.
    assert not VendorAccount.objects.filter(workspace=ws).exists()


def test_create_account_refused_stores_nothing(account):
    with pytest.raises(errors.PermanentVendorError) as caught:
        services.create_account(account, title="X", lang="english")
    assert "lang" in caught.value.field_errors
    assert not SmartsuppAccount.objects.exists()
    assert not Workspace.objects.filter(kind=WorkspaceKind.CLIENT).exists()


def test_update_account_at_smartsupp_then_here(account, acme):
    row = services.update_account(account, acme, title="Acme Renamed", lang="cs")
    remote = sbx.Account.objects.get(number=int(acme.external_id))
    assert (remote.title, remote.lang) == ("Acme Renamed", "cs")
    assert (row.title, row.lang, row.account_key) == (
        "Acme Renamed",
        "cs",
        acme.account_key,
    )
    assert services.update_account.retryable


def test_delete_account_marks_it_and_its_users_removed(account):
    sa = services.create_account(
        account, title="Short Lived", lang="en"
    ).smartsupp_account
    user = services.create_user(
        account,
        sa,
        role="agent",
        email="gone@planted.test",
        fullname="Gone",
        password=PASSWORD,
    )
    assert VendorAgent.objects.filter(
        account=account, external_id=user.external_id
    ).exists()
    assert services.delete_account(account, sa) == "deleted"
    assert not sbx.Account.objects.filter(number=int(sa.external_id)).exists()
    sa.refresh_from_db()
    user.refresh_from_db()
    assert sa.removed_at is not None and user.removed_at is not None
    agent = VendorAgent.objects.filter(
        account=account, external_id=user.external_id
    ).first()
    assert agent is None or agent.removed_at is not None
    # Again: Smartsupp's 404 means it is gone already.
    assert services.delete_account(account, sa) == "already gone at Smartsupp"


# --- users --------------------------------------------------------------------------
def test_create_user_sends_the_password_once_and_keeps_none(account, acme, caplog):
    caplog.set_level(logging.DEBUG)
    user = services.create_user(
        account,
        acme,
        role="agent",
        email="dora@acme.test",
        fullname="Dora Agent",
        nickname="Dora",
        password=PASSWORD,
    )
    remote = sbx.User.objects.get(number=int(user.external_id))
    assert remote.password_length == len(PASSWORD)
    assert (user.role, user.email, user.fullname, user.nickname) == (
        "agent",
        "dora@acme.test",
        "Dora Agent",
        "Dora",
    )
    stored = json.dumps(list(SmartsuppUser.objects.values()), default=str)
    assert PASSWORD not in stored and "password" not in user.raw
    assert PASSWORD not in caplog.text
    assert not services.create_user.__dict__.get("retryable")
    # The new user is in the agent directory.
    assert VendorAgent.objects.filter(
        account=account, external_id=user.external_id
    ).exists()


def test_create_user_refusal_names_the_field(account, acme):
    with pytest.raises(errors.PermanentVendorError) as caught:
        services.create_user(
            account,
            acme,
            role="agent",
            email="alice@acme.test",
            fullname="Twin",
            password=PASSWORD,
        )
    assert "email" in caught.value.field_errors
    assert not SmartsuppUser.objects.filter(
        email="alice@acme.test", fullname="Twin"
    ).exists()


def test_update_and_delete_user(account, acme):
    bob = local_user(account, acme, "bob@acme.test")
    row = services.update_user(
        account, bob, role="admin", fullname="Robert B", nickname="Rob"
    )
    remote = sbx.User.objects.get(number=int(bob.external_id))
    assert (remote.role, remote.fullname, remote.nickname) == (
        "admin",
        "Robert B",
        "Rob",
    )
    assert (row.role, row.fullname, row.nickname, row.email) == (
        "admin",
        "Robert B",
        "Rob",
        "bob@acme.test",
    )
    assert services.delete_user(account, row) == "deleted"
    assert not sbx.User.objects.filter(number=remote.number).exists()
    row.refresh_from_db()
    assert row.removed_at is not None


def test_load_user_takes_smartsupp_current_values(account, acme):
    carol = local_user(account, acme, "carol@acme.test")
    sbx.User.objects.filter(number=int(carol.external_id)).update(
        fullname="Carol Changed"
    )
    assert services.load_user(account, carol).fullname == "Carol Changed"


# --- triggers -----------------------------------------------------------------------
CONDITIONS = [
    {"name": "delay_site", "value": 60},
    {"name": "number_of_visits", "value": 1},
]
ACTIONS = [{"name": "message", "agent_nick": "Support", "message": "Hello there"}]


def test_create_trigger_with_two_conditions(account, acme):
    row = services.create_trigger(
        account,
        acme,
        name="1st visit greeting",
        event="onload",
        conditions=CONDITIONS,
        actions=ACTIONS,
        constraints="all",
    )
    remote = sbx.Trigger.objects.get(number=int(row.external_id))
    assert remote.conditions == CONDITIONS and remote.actions == ACTIONS
    assert (row.name, row.event, row.active, row.conditions, row.message) == (
        "1st visit greeting",
        "onload",
        True,
        CONDITIONS,
        "Hello there",
    )


def test_trigger_edit_activate_delete(account, acme):
    trigger = local_trigger(account, acme)
    row = services.update_trigger(
        account,
        trigger,
        name="Renamed",
        description="",
        event="onload",
        constraints="any",
        only_once=False,
        active=True,
        conditions=[{"name": "is_visitor_served", "value": False}],
        actions=ACTIONS,
    )
    remote = sbx.Trigger.objects.get(number=int(trigger.external_id))
    assert (remote.name, remote.constraints, remote.conditions) == (
        "Renamed",
        "any",
        [{"name": "is_visitor_served", "value": False}],
    )
    assert (row.name, row.constraints, row.only_once) == ("Renamed", "any", False)
    off = services.set_trigger_active(account, row, active=False)
    remote.refresh_from_db()
    assert remote.active is False and off.active is False and off.name == "Renamed"
    assert services.delete_trigger(account, off) == "deleted"
    off.refresh_from_db()
    assert off.removed_at is not None


def test_trigger_refused_unknown_event_keeps_the_row(account, acme):
    trigger = local_trigger(account, acme)
    before = trigger.name
    with pytest.raises(errors.PermanentVendorError):
        services.update_trigger(account, trigger, event="not an event")
    trigger.refresh_from_db()
    assert trigger.name == before


# --- office hours -------------------------------------------------------------------
def test_office_hours_in_the_minutes_format(account, acme):
    config = [
        {"dow": 1, "times": [{"from": 480, "to": 705}, {"from": 780, "to": 1020}]}
    ]
    row = services.update_office_hours(
        account, acme, active=True, days=[1, 2], timezone=1, config=config
    )
    remote = sbx.OfficeHours.objects.get(account__number=int(acme.external_id))
    assert (remote.active, remote.days, remote.timezone, remote.config) == (
        True,
        [1, 2],
        1,
        config,
    )
    assert row == SmartsuppOfficeHours.objects.get(smartsupp_account=acme)
    assert row.week()[1] == [("08:00", "11:45"), ("13:00", "17:00")]
    assert row.timezone_value() == 1


# --- the key ------------------------------------------------------------------------
def test_a_refused_key_marks_the_account(reseller, live_server, sandbox):
    bad = sandbox_account(
        reseller, live_server.url, vendor="smartsupp", key="nope", name="Bad key"
    )
    with pytest.raises(errors.AuthError):
        services.create_account(bad, title="X", lang="en")
    bad.refresh_from_db()
    assert bad.status == AccountStatus.NEEDS_ATTENTION
    assert "nope" not in bad.status_message
