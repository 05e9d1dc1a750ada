"""Serviceform services against the sandbox over HTTP: an item is created,
read again, updated (PUT with every value it keeps) and deleted at Serviceform
and stored as Serviceform answered; a refusal stores nothing and carries the
per-field messages; a chat's transcript is read again by its visitor; a
rejected key marks the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from cobrowse_portal.core.choices import AccountStatus
from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.writes import defer, overlay
from cobrowse_portal.vendorkit import errors
from tests.conftest import sandbox_account
from vendors.serviceform import services, sync
from vendors.serviceform.models import (
    ChatStatus,
    ServiceformChat,
    ServiceformItem,
    ServiceformMessage,
    ServiceformSpace,
)
from vendors.serviceform.sandbox.models import Item as SandboxItem
from vendors.serviceform.schemas import Chat

from .conftest import SANDBOX, main_chats, request_space

pytestmark = SANDBOX


@pytest.fixture
def account(reseller, sandbox, live_server) -> VendorAccount:
    return sandbox_account(reseller, live_server.url, vendor="serviceform")


def local_space(account, name="Service requests") -> ServiceformSpace:
    """The account's space as the spaces stream stores it (from the listing)."""
    space = next(s for s in account.client().list_spaces() if s.name == name)
    return ServiceformSpace.objects.create(
        account=account,
        external_id=space.id,
        name=space.name,
        fields=space.raw["fields"],
        raw=space.raw,
    )


VALUES = {
    "customer": "Ada Lovelace",
    "status": "in_progress",
    "services": ["repair"],
    "budget": 250,
    "urgent": True,
    "due_date": "2026-12-24",
}


def test_create_item_calls_serviceform_first_and_stores_its_answer(account):
    space = local_space(account)
    item = services.create_item(
        account, space, primary_field="Boiler repair", values=VALUES
    )
    at_vendor = SandboxItem.objects.get(item_id=item.external_id)
    assert at_vendor.primary_field == "Boiler repair"
    assert at_vendor.values["status"] == "in_progress"
    assert item.space == space and item.space_external_id == space.external_id
    assert item.values["services"] == ["repair"] and item.values["budget"] == 250
    assert item.primary_field == "Boiler repair" and item.updated is not None
    assert not services.create_item.__dict__.get("retryable")  # a replay duplicates


def test_a_refused_create_stores_nothing_and_names_the_fields(account):
    space = local_space(account)
    before = SandboxItem.objects.count()
    with pytest.raises(errors.PermanentVendorError) as caught:
        services.create_item(
            account,
            space,
            primary_field="Bad",
            values={"customer": "X", "status": "nope", "contact_email": "not-mail"},
        )
    assert set(caught.value.field_errors) == {"status", "contact_email"}
    assert caught.value.field_errors["status"] == ["Not one of the options."]
    assert SandboxItem.objects.count() == before
    assert not ServiceformItem.objects.filter(account=account).exists()


def test_update_sends_every_value_the_item_keeps(account):
    space = local_space(account)
    item = services.create_item(account, space, primary_field="Job", values=VALUES)
    # The stored row also holds a value of a field the space no longer has:
    # it is not sent (Serviceform refuses unknown fields).
    ServiceformItem.objects.filter(pk=item.pk).update(
        values={**item.values, "legacy": "x"}
    )
    item.refresh_from_db()
    # Only two fields changed: the other stored values go along in the PUT.
    changed = {"status": "done", "budget": None}
    fresh = services.update_item(account, item, primary_field="Job 2", values=changed)
    vendor = SandboxItem.objects.get(item_id=item.external_id)
    assert vendor.primary_field == "Job 2" and vendor.values["status"] == "done"
    assert "budget" not in vendor.values  # a cleared field is cleared
    assert vendor.values["services"] == ["repair"]
    assert vendor.values["customer"] == "Ada Lovelace" and "legacy" not in vendor.values
    assert fresh.values == vendor.values and fresh.primary_field == "Job 2"
    # A refusal stores nothing.
    with pytest.raises(errors.PermanentVendorError) as caught:
        services.update_item(
            account, fresh, primary_field="Job 3", values={"status": "nope"}
        )
    assert caught.value.field_errors == {"status": ["Not one of the options."]}
    assert ServiceformItem.objects.get(pk=item.pk).primary_field == "Job 2"


def test_kept_updates_merge_field_by_field_and_show_on_the_item(account):
    space = local_space(account)
    item = services.create_item(account, space, primary_field="Job", values=VALUES)
    assert services.update_item.retryable and services.delete_item.removes
    merged = services.merge_item_changes(
        {"primary_field": "A", "values": {"status": "done", "budget": 1}},
        {"primary_field": "B", "values": {"budget": 2}},
    )
    assert merged == {"primary_field": "B", "values": {"status": "done", "budget": 2}}
    defer(
        account,
        services.update_item,
        description="edit",
        target=item,
        kwargs={"primary_field": "Waiting", "values": {**VALUES, "status": "done"}},
    )
    shown = overlay(account, [ServiceformItem.objects.get(pk=item.pk)])[0]
    assert shown.primary_field == "Waiting" and shown.values["status"] == "done"


def test_refresh_item_reads_it_again_and_a_404_marks_it_removed(account):
    space = local_space(account)
    item = services.create_item(account, space, primary_field="Job", values=VALUES)
    vendor = SandboxItem.objects.get(item_id=item.external_id)
    vendor.primary_field = "Renamed at Serviceform"
    vendor.save()
    assert services.refresh_item(account, item).primary_field == vendor.primary_field
    vendor.delete()
    with pytest.raises(errors.NotFound, match="not found|Not Found|404|Item"):
        services.refresh_item(account, item)
    item.refresh_from_db()
    assert item.removed_at is not None


def test_delete_item_deletes_at_serviceform_then_marks_the_row(account):
    space = local_space(account)
    item = services.create_item(account, space, primary_field="Job", values=VALUES)
    assert services.delete_item(account, item) == f"Item {item} deleted."
    assert not SandboxItem.objects.filter(item_id=item.external_id).exists()
    item.refresh_from_db()
    assert item.removed_at is not None
    # Deleting again (a replay) is harmless: already gone, still removed.
    assert services.delete_item(account, item) == "Serviceform no longer had this item."


def test_refresh_chat_reads_the_transcript_by_the_visitor(account):
    sandbox_chat = main_chats().exclude(chatbot=True).order_by("started").first()
    listed = account.client().list_chats(
        sandbox_chat.started, sandbox_chat.started + timedelta(seconds=1), limit=500
    )
    payload = next(c for c in listed if c.id == sandbox_chat.cid)
    assert payload.messages == []
    from cobrowse_portal.vendorkit.bulk import upsert

    row = sync.chat_row(payload, timezone.now(), with_messages=False)
    upsert(ServiceformChat, account, [row])
    chat = ServiceformChat.objects.get(account=account, external_id=sandbox_chat.cid)
    assert chat.needs_messages
    fresh = services.refresh_chat(account, chat)
    stored = list(ServiceformMessage.objects.filter(chat=fresh).order_by("position"))
    assert [m.text for m in stored] == [m["message"] for m in sandbox_chat.messages]
    assert [m.sender for m in stored] == [m["sender"] for m in sandbox_chat.messages]
    fresh.refresh_from_db()
    assert not fresh.needs_messages
    assert fresh.status == ChatStatus.ENDED  # Serviceform sent its end
    # Again: nothing doubles.
    services.refresh_chat(account, fresh)
    assert ServiceformMessage.objects.filter(chat=fresh).count() == len(stored)


def test_a_chat_without_an_end_stays_open_until_it_goes_quiet():
    now = timezone.now()
    recent = Chat(id="c1", started=now - timedelta(minutes=5), raw={})
    quiet = Chat(id="c2", started=datetime(2026, 1, 1, tzinfo=UTC), raw={})
    assert sync.chat_status(recent, now) == ChatStatus.OPEN
    assert sync.chat_status(quiet, now) == ChatStatus.ENDED
    ended = Chat(id="c3", started=now, raw={"ended": "2026-01-01T00:00:00Z"})
    assert sync.chat_status(ended, now) == ChatStatus.ENDED


def test_a_rejected_key_marks_the_account(reseller, sandbox, live_server):
    account = sandbox_account(
        reseller, live_server.url, vendor="serviceform", key="wrong-key"
    )
    space = ServiceformSpace.objects.create(
        account=account, external_id=request_space().space_id, name="S"
    )
    with pytest.raises(errors.AuthError):
        services.create_item(account, space, primary_field="x", values={})
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_ATTENTION
    assert "sf-api-key" in account.status_message
