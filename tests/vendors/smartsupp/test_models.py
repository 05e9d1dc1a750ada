"""Smartsupp models: one row per vendor id and portal account, the documented
roles and message types only, office hours one per Smartsupp account and their
conversion to and from a weekly table of "HH:MM" ranges, the hook's ms epochs
as aware UTC, the chat code, and the account-first indexes the pages read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from cobrowse_portal.core.models import Activity, VendorAgent, Workspace
from cobrowse_portal.vendorkit import activity as index
from cobrowse_portal.vendorkit.bulk import upsert
from vendors.smartsupp import models as m
from vendors.smartsupp.models import (
    OfficeHoursError,
    SmartsuppAccount,
    SmartsuppChat,
    SmartsuppChatMessage,
    SmartsuppOfficeHours,
    SmartsuppTrigger,
    SmartsuppUser,
    config_to_table,
    from_ms,
    hhmm_to_minutes,
    minutes_to_hhmm,
    table_to_config,
)

from .control_room import (
    chat_row,
    reseller_account,
    smartsupp_spec,  # noqa: F401 - a fixture
    user_row,
)

#: The office hours of the docs' example.
DOCS_CONFIG = [
    {"dow": 1, "times": [{"from": 480, "to": 705}, {"from": 780, "to": 1020}]},
    {"dow": 2, "times": [{"from": 480, "to": 705}]},
]


@pytest.fixture
def account(reseller, smartsupp_spec):  # noqa: F811 - the fixture
    return reseller_account(reseller)


@pytest.fixture
def other(reseller, smartsupp_spec):  # noqa: F811 - the fixture
    return reseller_account(reseller, "Smartsupp 2")


@pytest.fixture
def ss_account(account):
    return SmartsuppAccount.objects.create(
        account=account, external_id="1234", title="Shop", lang="en"
    )


# --- uniqueness and constraints ---
def _fields(model, account, n):
    """What each model needs besides its ids."""
    if model in (SmartsuppUser, SmartsuppTrigger, SmartsuppOfficeHours):
        parent = SmartsuppAccount.objects.create(account=account, external_id=f"a{n}")
        return {"smartsupp_account": parent}
    return {}


@pytest.mark.parametrize(
    "model",
    [
        SmartsuppAccount,
        SmartsuppUser,
        SmartsuppTrigger,
        SmartsuppOfficeHours,
        SmartsuppChat,
    ],
)
def test_a_vendor_id_is_one_row_per_portal_account(model, account, other):
    model.objects.create(
        account=account, external_id="x1", **_fields(model, account, 1)
    )
    model.objects.create(account=other, external_id="x1", **_fields(model, other, 2))
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(
            account=account, external_id="x1", **_fields(model, account, 3)
        )
    assert model.objects.count() == 2


def test_a_user_id_is_unique_across_the_resellers_smartsupp_accounts(account):
    # Smartsupp user ids are global (uid<id>@smartsupp.com): the same id under
    # two of one reseller's accounts is one user, not two.
    first = SmartsuppAccount.objects.create(account=account, external_id="1")
    second = SmartsuppAccount.objects.create(account=account, external_id="2")
    SmartsuppUser.objects.create(
        account=account, smartsupp_account=first, external_id="9"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SmartsuppUser.objects.create(
            account=account, smartsupp_account=second, external_id="9"
        )


@pytest.mark.parametrize(
    "role, ok", [("agent", True), ("admin", True), ("", True), ("owner", False)]
)
def test_a_user_has_one_of_the_two_documented_roles(ss_account, role, ok):
    def create():
        SmartsuppUser.objects.create(
            account=ss_account.account,
            smartsupp_account=ss_account,
            external_id="u1",
            role=role,
        )

    if ok:
        create()
        assert SmartsuppUser.objects.get().role == role
    else:
        with pytest.raises(IntegrityError), transaction.atomic():
            create()


def test_no_model_has_a_password_or_key_column():
    for model in (
        SmartsuppAccount,
        SmartsuppUser,
        SmartsuppTrigger,
        SmartsuppOfficeHours,
        SmartsuppChat,
        SmartsuppChatMessage,
    ):
        names = {f.name for f in model._meta.get_fields()}
        assert not {n for n in names if "password" in n or n in ("api_key", "apikey")}
        assert model.__name__ != "Session"


def test_office_hours_are_one_per_smartsupp_account(ss_account):
    SmartsuppOfficeHours.objects.create(
        account=ss_account.account, smartsupp_account=ss_account, external_id="1234"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SmartsuppOfficeHours.objects.create(
            account=ss_account.account, smartsupp_account=ss_account, external_id="x"
        )
    assert SmartsuppAccount.objects.get().office_hours.external_id == "1234"


def _chat(account, ext="ch1"):
    return SmartsuppChat.objects.create(account=account, external_id=ext)


def test_chat_messages_have_one_row_per_position_and_a_documented_type(account):
    chat = _chat(account)
    SmartsuppChatMessage.objects.create(chat=chat, position=0, type="visitor")
    with pytest.raises(IntegrityError), transaction.atomic():
        SmartsuppChatMessage.objects.create(chat=chat, position=0, type="agent")
    with pytest.raises(IntegrityError), transaction.atomic():
        SmartsuppChatMessage.objects.create(chat=chat, position=1, type="bot")
    SmartsuppChatMessage.objects.create(
        chat=_chat(account, "ch2"), position=0, type="agent"
    )
    assert SmartsuppChatMessage.objects.count() == 2


def test_an_unknown_message_type_is_stored_as_system():
    assert [
        SmartsuppChatMessage.type_of(t) for t in ("visitor", "agent", "system")
    ] == [
        "visitor",
        "agent",
        "system",
    ]
    assert SmartsuppChatMessage.type_of("bot") == "system"
    assert SmartsuppChatMessage.type_of(None) == "system"


def test_deleting_a_smartsupp_account_deletes_its_users_triggers_and_hours(ss_account):
    a = ss_account.account
    SmartsuppUser.objects.create(
        account=a, smartsupp_account=ss_account, external_id="u"
    )
    SmartsuppTrigger.objects.create(
        account=a, smartsupp_account=ss_account, external_id="t"
    )
    SmartsuppOfficeHours.objects.create(
        account=a, smartsupp_account=ss_account, external_id="h"
    )
    ss_account.delete()
    assert not SmartsuppUser.objects.exists() and not SmartsuppTrigger.objects.exists()
    assert not SmartsuppOfficeHours.objects.exists()


def test_deleting_the_client_workspace_keeps_the_account(account, reseller):
    client = Workspace.objects.create(name="Client", slug="client-ss", parent=reseller)
    row = SmartsuppAccount.objects.create(
        account=account, external_id="1", client_workspace=client
    )
    client.delete()
    row.refresh_from_db()
    assert row.client_workspace is None


# --- the index in the vendor write's transaction ---
def _failing_write_for(model, monkeypatch):
    original = index.bulk.write_rows

    def write_rows(target, *args, **kwargs):
        if target is model:
            raise RuntimeError("index write failed")
        return original(target, *args, **kwargs)

    monkeypatch.setattr(index.bulk, "write_rows", write_rows)


def test_a_failing_activity_write_stores_no_chats_either(account, monkeypatch):
    _failing_write_for(Activity, monkeypatch)
    with pytest.raises(RuntimeError):
        upsert(SmartsuppChat, account, [chat_row(1), chat_row(2)])
    assert not SmartsuppChat.objects.exists() and not Activity.objects.exists()


def test_a_failing_directory_write_stores_no_users_either(ss_account, monkeypatch):
    _failing_write_for(VendorAgent, monkeypatch)
    with pytest.raises(RuntimeError):
        upsert(SmartsuppUser, ss_account.account, [user_row(ss_account)])
    assert not SmartsuppUser.objects.exists() and not VendorAgent.objects.exists()


def test_accounts_triggers_and_office_hours_feed_no_index(ss_account):
    a = ss_account.account
    upsert(SmartsuppAccount, a, [{"external_id": "5", "title": "T", "raw": {}}])
    upsert(
        SmartsuppTrigger,
        a,
        [{"external_id": "758", "smartsupp_account": ss_account.pk, "raw": {}}],
    )
    upsert(
        SmartsuppOfficeHours,
        a,
        [{"external_id": "1234", "smartsupp_account": ss_account.pk, "raw": {}}],
    )
    assert not Activity.objects.exists() and not VendorAgent.objects.exists()


# --- accounts and triggers ---
def test_the_chat_code_carries_the_key_and_cannot_end_its_script(account):
    row = SmartsuppAccount(account=account, external_id="1", account_key="14dcb138")
    code = row.chat_code
    assert '_smartsupp.key = "14dcb138";' in code
    assert code.startswith('<script type="text/javascript">') and code.endswith(
        "</script>"
    )
    row.account_key = 'x"</script><script>alert(1)//'
    code = row.chat_code
    assert code.count("</script>") == 1 and "<script>alert" not in code
    assert SmartsuppAccount(account=account, external_id="2").chat_code == ""


def test_a_trigger_message_is_its_first_message_action():
    trigger = SmartsuppTrigger(
        actions=[
            "odd",
            {"name": "other", "message": "no"},
            {"name": "message", "agent_nick": "Support", "message": "Hello"},
        ]
    )
    assert trigger.message == "Hello"
    assert SmartsuppTrigger(actions=[{"name": "message", "message": 7}]).message == ""
    assert SmartsuppTrigger(actions=[]).message == ""


# --- the hook's times and agent ---
def test_ms_epochs_are_aware_utc():
    at = from_ms(1764493200000)
    assert (
        at == datetime(2025, 11, 30, 9, 0, tzinfo=UTC)
        and at.utcoffset().total_seconds() == 0
    )
    assert from_ms("1764493200500") == datetime(
        2025, 11, 30, 9, 0, 0, 500000, tzinfo=UTC
    )
    for bad in (None, True, "soon", {}, 10**20):
        assert from_ms(bad) is None, bad


def test_the_agent_is_the_first_agent_message():
    messages = [
        {"type": "visitor", "name": "Eve", "from": "v1"},
        {"type": "system", "content": "agent.join"},
        {"type": "agent", "name": " John Doe ", "from": 3434, "email": "john@doe.com"},
        {"type": "agent", "name": "Later", "from": 1},
    ]
    assert SmartsuppChat.agent_of(messages) == ("3434", "John Doe", "john@doe.com")
    assert SmartsuppChat.agent_of([{"type": "agent", "from": True}]) == ("", "", "")
    assert SmartsuppChat.agent_of([{"type": "visitor"}]) == ("", "", "")
    assert SmartsuppChat.agent_of(None) == ("", "", "")


# --- office hours: minutes <-> "HH:MM" ---
@pytest.mark.parametrize(
    "minutes, text",
    [(0, "00:00"), (480, "08:00"), (705, "11:45"), (1439, "23:59"), (1440, "24:00")],
)
def test_minutes_and_hhmm_convert_both_ways(minutes, text):
    assert minutes_to_hhmm(minutes) == text
    assert hhmm_to_minutes(text) == minutes


@pytest.mark.parametrize(
    "bad", ["24:01", "25:00", "12:60", "8", "08:5", "", None, "ab:cd"]
)
def test_a_time_that_is_not_of_a_day_is_refused(bad):
    with pytest.raises(OfficeHoursError):
        hhmm_to_minutes(bad)


@pytest.mark.parametrize("bad", [-1, 1441, True, "480", None])
def test_minutes_outside_a_day_are_refused(bad):
    with pytest.raises(OfficeHoursError):
        minutes_to_hhmm(bad)


def test_the_documented_config_is_a_weekly_table_and_back():
    table = config_to_table(DOCS_CONFIG)
    assert table[1] == [("08:00", "11:45"), ("13:00", "17:00")]
    assert table[2] == [("08:00", "11:45")]
    assert set(table) == {0, 1, 2, 3, 4, 5, 6}
    assert all(table[d] == [] for d in (0, 3, 4, 5, 6))
    assert table_to_config(table) == DOCS_CONFIG


def test_a_whole_day_runs_from_midnight_to_24_00():
    config = table_to_config({0: [("00:00", "24:00")]})
    assert config == [{"dow": 0, "times": [{"from": 0, "to": 1440}]}]
    assert config_to_table(config)[0] == [("00:00", "24:00")]


def test_days_come_monday_first_and_ranges_in_order():
    table = {0: [("10:00", "12:00")], 3: [("14:00", "15:00"), ("09:00", "10:00")]}
    assert table_to_config(table) == [
        {"dow": 3, "times": [{"from": 540, "to": 600}, {"from": 840, "to": 900}]},
        {"dow": 0, "times": [{"from": 600, "to": 720}]},
    ]


def test_touching_ranges_are_allowed_but_overlapping_ones_refused():
    assert table_to_config({1: [("08:00", "12:00"), ("12:00", "13:00")]})[0][
        "times"
    ] == [
        {"from": 480, "to": 720},
        {"from": 720, "to": 780},
    ]
    with pytest.raises(OfficeHoursError, match="Monday: time ranges overlap"):
        table_to_config({1: [("08:00", "12:00"), ("11:59", "13:00")]})
    with pytest.raises(OfficeHoursError, match="overlap"):
        table_to_config({1: [("09:00", "10:00"), ("08:00", "17:00")]})  # inside


@pytest.mark.parametrize(
    "table, says",
    [
        ({1: [("22:00", "02:00")]}, "over midnight"),  # over midnight: two days
        ({1: [("09:00", "09:00")]}, "does not end after"),
        ({1: [("24:00", "24:00")]}, "24:00 can only end"),
        ({7: [("09:00", "10:00")]}, "not a day"),
        ({True: [("09:00", "10:00")]}, "not a day"),
        ({"x": [("09:00", "10:00")]}, "not a day"),
        ({1: [], "1": []}, "Monday is given twice"),
        ({1: [("09:00",)]}, "a start and an end"),
        ({1: [("9am", "10:00")]}, "not a time"),
        ([("09:00", "10:00")], "table of days"),
    ],
)
def test_a_table_that_is_not_office_hours_is_refused(table, says):
    with pytest.raises(OfficeHoursError, match=says):
        table_to_config(table)


def test_days_keyed_as_text_are_read_as_numbers():
    config = table_to_config({"1": [("08:00", "09:00")], " 0": [("10:00", "11:00")]})
    assert [entry["dow"] for entry in config] == [1, 0]


def test_a_stored_config_is_read_leniently():
    config = [
        "odd",
        {"dow": 9, "times": [{"from": 0, "to": 60}]},
        {"dow": True, "times": [{"from": 0, "to": 60}]},
        {"dow": 4, "times": [{"from": 600, "to": 540}, {"from": "a", "to": 2}, 3]},
        {"dow": 4, "times": [{"from": 60, "to": 2000}, {"from": 60, "to": 120}]},
        {"dow": 5},
    ]
    table = config_to_table(config)
    assert table[4] == [("01:00", "02:00")]
    assert sum(len(v) for v in table.values()) == 1
    assert config_to_table(None) == config_to_table({}) == {d: [] for d in range(7)}


def test_set_week_writes_the_config_and_the_days(ss_account):
    hours = SmartsuppOfficeHours(
        account=ss_account.account, smartsupp_account=ss_account, external_id="1234"
    )
    hours.set_week(
        {0: [("10:00", "14:00")], 1: [("08:00", "11:45"), ("13:00", "17:00")]}
    )
    assert hours.days == [1, 0]
    assert hours.config[0] == DOCS_CONFIG[0]
    hours.set_week({1: [("08:00", "11:45")]}, days=[0, 6, 2, 1, 2])
    assert hours.days == [1, 2, 6, 0]  # the docs' order, each once
    hours.save()
    hours.refresh_from_db()
    assert hours.week()[1] == [("08:00", "11:45")]
    with pytest.raises(OfficeHoursError):
        hours.set_week({1: [("08:00", "09:00")]}, days=[8])
    before = list(hours.config)
    with pytest.raises(OfficeHoursError):
        hours.set_week({1: [("10:00", "09:00")]})
    assert hours.config == before  # a refused table changes nothing


@pytest.mark.parametrize(
    "stored, value",
    [("1", 1), ("-5", -5), ("+2", 2), ("Europe/Prague", "Europe/Prague"), ("", "")],
)
def test_the_time_zone_is_given_back_as_sent(stored, value):
    assert SmartsuppOfficeHours(timezone=stored).timezone_value() == value


def test_the_day_names_are_smartsupps_numbering():
    assert m.DAY_NAMES[0] == "Sunday" and m.DAY_NAMES[1] == "Monday"
    assert [d for d, _ in m.DAYS] == [1, 2, 3, 4, 5, 6, 0]


# --- the pages' indexes ---
def _index_columns(model) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: c["columns"] for name, c in found.items() if c["index"]}


@pytest.mark.parametrize(
    "model, name, columns",
    [
        (SmartsuppChat, "smartsupp_chat_begin_idx", ["account_id", "begin_at", "id"]),
        (
            SmartsuppChat,
            "smartsupp_chat_acct_idx",
            ["account_id", "smartsupp_account_id", "begin_at", "id"],
        ),
        (
            SmartsuppChat,
            "smartsupp_chat_agent_idx",
            ["account_id", "agent_id", "begin_at", "id"],
        ),
        (SmartsuppAccount, "smartsupp_acct_title_idx", ["account_id", "title", "id"]),
        (
            SmartsuppUser,
            "smartsupp_user_acct_idx",
            ["account_id", "smartsupp_account_id", "fullname", "id"],
        ),
        (SmartsuppUser, "smartsupp_user_email_idx", ["account_id", "email"]),
        (
            SmartsuppTrigger,
            "smartsupp_trig_acct_idx",
            ["account_id", "smartsupp_account_id", "name", "id"],
        ),
    ],
)
def test_pages_read_through_account_first_indexes(db, model, name, columns):
    assert _index_columns(model).get(name) == columns
