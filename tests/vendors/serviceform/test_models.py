"""Serviceform models: one row per vendor id and account (and per chat for
messages), field definitions typed for forms, removed rows kept and marked,
which chats need their messages fetched, a day's statistics stored with its
usage figures in one transaction (or neither), the index written in the chat
write's transaction, and the indexes the pages read through."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.core.models import Activity, UsageDay, VendorAgent
from cobrowse_portal.vendorkit import activity as index
from cobrowse_portal.vendorkit.bulk import reconcile, upsert
from tests.core.conftest import make_account
from vendors.serviceform import models as sf
from vendors.serviceform.models import (
    ServiceformChat,
    ServiceformChatStatDay,
    ServiceformItem,
    ServiceformLead,
    ServiceformMessage,
    ServiceformSpace,
    record_stat_day,
)
from vendors.serviceform.schemas import FieldOption, SpaceField

from .control_room import (
    T0,
    chat_row,
    serviceform_spec,  # noqa: F401 - a fixture
)

BASE = "https://link.serviceform.com"
DAY = date(2026, 11, 30)


@pytest.fixture
def account(reseller, serviceform_spec):  # noqa: F811 - the fixture
    return make_account(reseller, "Serviceform", vendor="serviceform", base_url=BASE)


@pytest.fixture
def other(reseller, serviceform_spec):  # noqa: F811 - the fixture
    return make_account(reseller, "Serviceform 2", vendor="serviceform", base_url=BASE)


def _space(account, ext="sp1", **extra):
    return ServiceformSpace.objects.create(
        account=account, external_id=ext, name="Tickets", **extra
    )


def _chat(account, ext="chat1", **extra):
    return ServiceformChat.objects.create(account=account, external_id=ext, **extra)


def item_row(space, i=1, **extra) -> dict:
    row = {
        "external_id": f"it{i}",
        "space": space.pk,
        "space_external_id": space.external_id,
        "uid": f"u{i}",
        "primary_field": f"Item {i}",
        "values": {"status": "open"},
        "created": T0,
        "updated": T0 + timedelta(minutes=i),
    }
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items() if k != "raw"}
    return row


# --- uniqueness -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "model, fields",
    [
        (ServiceformSpace, {}),
        (ServiceformLead, {}),
        (ServiceformChat, {}),
        (ServiceformChatStatDay, {"day": DAY}),
    ],
)
def test_a_vendor_id_is_one_row_per_account(model, fields, account, other):
    model.objects.create(account=account, external_id="x1", **fields)
    model.objects.create(account=other, external_id="x1", **fields)  # another account
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(account=account, external_id="x1", **fields)
    assert model.objects.count() == 2


def test_an_item_id_is_one_row_per_account(account, other):
    a, b = _space(account), _space(other)
    ServiceformItem.objects.create(account=account, space=a, external_id="it1")
    ServiceformItem.objects.create(account=other, space=b, external_id="it1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceformItem.objects.create(account=account, space=a, external_id="it1")


def test_a_message_id_is_one_row_per_chat(account):
    one, two = _chat(account, "chat1"), _chat(account, "chat2")
    for chat in (one, two):  # the same vendor message id in two chats
        ServiceformMessage.objects.create(
            account=account,
            chat=chat,
            external_id=ServiceformMessage.key(chat.external_id, "msg1"),
            message_id="msg1",
            position=0,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceformMessage.objects.create(
            account=account,
            chat=one,
            external_id="another key",
            message_id="msg1",
            position=1,
        )
    assert ServiceformMessage.objects.count() == 2
    assert ServiceformMessage.key("chat1", "msg1") == "chat1/msg1"


def test_a_day_of_statistics_is_one_row_per_account(account):
    ServiceformChatStatDay.objects.create(account=account, external_id="a", day=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceformChatStatDay.objects.create(account=account, external_id="b", day=DAY)


def test_deleting_a_chat_or_space_deletes_its_messages_or_items(account):
    space = _space(account)
    upsert(ServiceformItem, account, [item_row(space, 1), item_row(space, 2)])
    chat = _chat(account)
    ServiceformMessage.objects.create(
        account=account, chat=chat, external_id="chat1/m", message_id="m", position=0
    )
    space.delete()
    chat.delete()
    assert not ServiceformItem.objects.exists()
    assert not ServiceformMessage.objects.exists()


# --- removed rows ---------------------------------------------------------------------
def test_spaces_and_items_gone_from_a_listing_are_marked_removed_not_deleted(account):
    reconcile(
        ServiceformSpace,
        account,
        [
            {"external_id": "sp1", "name": "A", "fields": [], "raw": {"id": "sp1"}},
            {"external_id": "sp2", "name": "B", "fields": [], "raw": {"id": "sp2"}},
        ],
    )
    space = ServiceformSpace.objects.get(external_id="sp1")
    reconcile(ServiceformItem, account, [item_row(space, 1), item_row(space, 2)])
    counts = reconcile(ServiceformItem, account, [item_row(space, 2)])
    assert counts.removed == 1
    gone = ServiceformItem.objects.get(external_id="it1")
    assert gone.removed_at is not None and gone.primary_field == "Item 1"
    reconcile(ServiceformSpace, account, [{"external_id": "sp1", "raw": {"id": "sp1"}}])
    assert ServiceformSpace.objects.get(external_id="sp2").is_removed
    # An item that comes back is restored.
    reconcile(ServiceformItem, account, [item_row(space, 1), item_row(space, 2)])
    assert ServiceformItem.objects.get(external_id="it1").removed_at is None


# --- field definitions ----------------------------------------------------------------
def test_field_definitions_are_typed_with_their_options():
    space = ServiceformSpace(
        fields=[
            {
                "machine": "status",
                "name": "Status",
                "id": "f1",
                "type": "Select",
                "required": True,
                "options": [
                    {"machine": "open", "label": "Open", "value": "open"},
                    {"machine": "done", "label": "", "value": ""},
                    {"label": "no value"},
                    "odd",
                ],
            },
            {"machine": "notes", "name": "", "type": "text", "required": "yes"},
            {"name": "no machine name", "type": "text"},
            {"machine": "notes", "name": "a repeat"},
            None,
        ]
    )
    status, notes = space.field_defs()
    assert status == SpaceField(
        machine="status",
        name="Status",
        id="f1",
        type="select",
        raw_type=status.raw_type,
        required=True,
        options=[
            FieldOption("open", "Open", "open"),
            FieldOption("done", "done", "done"),
        ],
    )
    # `required` is read leniently (the client's parser); a nameless field is
    # labelled by its machine name; an option without a value is dropped.
    assert (notes.label, notes.options) == ("notes", [])
    assert sf.field_defs("not a list") == [] and ServiceformSpace().field_defs() == []


# --- which chats need messages --------------------------------------------------------
def test_chats_needing_messages_are_new_never_fetched_or_changed(account, other):
    _chat(account, "fresh", messages_changed_at=T0, changed_at=T0)
    _chat(account, "changed", messages_changed_at=T0, changed_at=T0)
    _chat(account, "never", changed_at=T0)
    _chat(other, "new")  # another account's row does not count
    listing = {
        "fresh": T0,
        "changed": T0 + timedelta(seconds=1),
        "never": T0,
        "new": T0,
        "unknown-change": None,
    }
    _chat(account, "unknown-change", messages_changed_at=T0)
    with CaptureQueriesContext(connection) as ctx:
        stale = ServiceformChat.stale_for_messages(account, listing)
    assert len(ctx.captured_queries) == 1
    assert stale == ["changed", "never", "new"]
    chat = ServiceformChat(changed_at=T0 + timedelta(1), messages_changed_at=T0)
    assert chat.needs_messages and ServiceformChat().needs_messages
    assert not ServiceformChat(changed_at=T0, messages_changed_at=T0).needs_messages


# --- chat statistics ------------------------------------------------------------------
def test_a_stat_day_is_stored_and_its_figures_go_to_the_usage_rollup(account):
    answer = {
        "totalChats": 150,
        "chatbotChats": 40,
        "averageResponseTime": 45,
        "satisfactionScore": 4.5,
        "chatsBySource": {"website": 120, "mobile": 30},
    }
    row = record_stat_day(account, DAY, answer)
    assert (row.day, row.external_id) == (DAY, "2026-11-30")
    assert (row.chats, row.chatbot_chats, row.human_chats) == (150, 40, 110)
    assert (row.avg_response_seconds, row.rating) == (45, 4.5)
    assert row.messages is None and row.avg_duration is None  # not sent: unknown
    assert row.metrics["chatsBySource"] == {"website": 120, "mobile": 30}
    usage = UsageDay.objects.get(account=account, day=DAY)
    assert usage.figures == {
        "chats": 150,
        "chatbot_chats": 40,
        "human_chats": 110,
        "avg_response_seconds": 45,
        "rating": 4.5,
    }
    assert (usage.activities, usage.vendor) == (0, "serviceform")


def test_a_stat_day_again_updates_its_row_and_merges_the_figures(account):
    record_stat_day(account, DAY, {"totalChats": 10, "satisfactionScore": 4})
    record_stat_day(account, DAY, {"totalChats": 12, "totalMessages": "30"})
    row = ServiceformChatStatDay.objects.get()
    assert (row.chats, row.messages, row.rating) == (12, 30, None)
    usage = UsageDay.objects.get()
    # The rollup keeps a figure a later answer did not carry.
    assert usage.figures == {"chats": 12, "messages": 30, "rating": 4}


def test_unusable_statistics_are_unknown_not_zero(account):
    row = record_stat_day(
        account,
        DAY,
        {"totalChats": True, "satisfactionScore": "n/a", "averageResponseTime": None},
    )
    assert (row.chats, row.rating, row.avg_response_seconds) == (None, None, None)
    assert UsageDay.objects.filter(account=account).count() == 0
    assert record_stat_day(account, DAY, None).metrics == {}


def test_a_failing_usage_write_stores_no_stat_day_either(account, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("rollup failed")

    monkeypatch.setattr(sf, "record_vendor_usage", fail)
    with pytest.raises(RuntimeError):
        record_stat_day(account, DAY, {"totalChats": 3})
    assert not ServiceformChatStatDay.objects.exists()


# --- the index in the chat write's transaction ----------------------------------------
def test_a_failing_activity_write_stores_no_chats_either(account, monkeypatch):
    original = index.bulk.write_rows

    def write_rows(target, *args, **kwargs):
        if target is Activity:
            raise RuntimeError("index write failed")
        return original(target, *args, **kwargs)

    monkeypatch.setattr(index.bulk, "write_rows", write_rows)
    with pytest.raises(RuntimeError):
        upsert(ServiceformChat, account, [chat_row(1), chat_row(2)])
    assert not ServiceformChat.objects.exists()
    assert not Activity.objects.exists() and not UsageDay.objects.exists()


def test_a_chat_repeated_in_one_answer_is_stored_once(account):
    rows = [chat_row(1, length=60), chat_row(2), chat_row(1, length=70)]
    assert upsert(ServiceformChat, account, rows).created == 2
    assert ServiceformChat.objects.get(external_id="chat1").duration == 70
    assert Activity.objects.get(external_id="chat1").duration == 70


def test_a_saved_chat_is_indexed_too(account):
    chat = _chat(account, "chat9", started_at=T0, agent_name="Ann")
    act = Activity.objects.get(external_id="chat9")
    assert act.status == "live" and act.agent_name == "Ann"
    chat.status, chat.ended_at, chat.duration = "ended", T0, 30
    chat.save()
    act.refresh_from_db()
    assert act.status == "ended" and act.duration == 30


def test_only_chats_feed_the_index(account):
    space = _space(account)
    upsert(ServiceformItem, account, [item_row(space)])
    upsert(ServiceformLead, account, [{"external_id": "l1", "raw": {}}])
    chat = _chat(account)
    ServiceformMessage.objects.create(
        account=account, chat=chat, external_id="chat1/m", message_id="m", position=0
    )
    record_stat_day(account, DAY, {"totalChats": 1})
    assert list(Activity.objects.values_list("external_id", flat=True)) == ["chat1"]
    assert not VendorAgent.objects.exists()


# --- the pages' indexes ---------------------------------------------------------------
def _index_columns(model) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: c["columns"] for name, c in found.items() if c["index"]}


@pytest.mark.parametrize(
    "model, name, columns",
    [
        (
            ServiceformItem,
            "sf_item_space_upd_idx",
            ["account_id", "space_id", "updated", "id"],
        ),
        (
            ServiceformItem,
            "sf_item_space_primary_idx",
            ["account_id", "space_id", "primary_field"],
        ),
        (ServiceformSpace, "sf_space_name_idx", ["account_id", "name"]),
        (ServiceformLead, "sf_lead_created_idx", ["account_id", "created", "id"]),
        (ServiceformLead, "sf_lead_email_idx", ["account_id", "email"]),
        (ServiceformChat, "sf_chat_start_idx", ["account_id", "started_at", "id"]),
        (ServiceformChat, "sf_chat_open_idx", ["account_id", "started_at", "id"]),
        (
            ServiceformChat,
            "sf_chat_bot_idx",
            ["account_id", "is_chatbot", "started_at", "id"],
        ),
        (ServiceformMessage, "sf_message_chat_pos_idx", ["chat_id", "position"]),
    ],
)
def test_pages_read_through_account_first_indexes(db, model, name, columns):
    assert _index_columns(model).get(name) == columns


def test_the_open_index_holds_only_open_rows():
    (idx,) = [i for i in ServiceformChat._meta.indexes if i.name == "sf_chat_open_idx"]
    assert sorted(idx.condition.children) == [
        ("removed_at__isnull", True),
        ("status", "open"),
    ]


def test_a_space_s_items_list_and_lookup_use_their_indexes(account):
    # The queries the items page and the admin run pick the (account, space, …)
    # indexes. SQLite only: its planner chooses by the indexes' shape, while
    # PostgreSQL on a 30-row table rightly prefers its smallest index and a
    # sort, so a plan there says nothing about a real table (the index columns
    # are checked on both, above).
    if connection.vendor != "sqlite":
        pytest.skip("plans on a tiny table are only meaningful on SQLite")
    space = _space(account)
    upsert(ServiceformItem, account, [item_row(space, i) for i in range(30)])
    qs = ServiceformItem.objects.filter(account=account, space=space)
    listing = qs.order_by("-updated", "-id")[:25]
    assert "sf_item_space_upd_idx" in listing.explain()
    # An exact primary field (the admin's search; a sort by it within a space).
    found = qs.filter(primary_field="Item 12").order_by("primary_field")
    assert "sf_item_space_primary_idx" in found.explain()
