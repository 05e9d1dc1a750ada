"""Seeding is deterministic at any size: the same spaces, items, leads and
chats for the same seed (only the hour they count back from moves), different
for another seed, a no-op on a seeded sandbox unless reset; the data has what
the tests and the demo rely on (every field type, ties at a second, valid
item values); and 100,000 chats seed in seconds."""

from __future__ import annotations

import time

import pytest

from vendors.serviceform.sandbox import views
from vendors.serviceform.sandbox.models import Account, Chat, Item, Lead, Space
from vendors.serviceform.sandbox.seed import CLIENT_KEY, MAIN_KEY, seed
from vendors.serviceform.schemas import FIELD_TYPES

pytestmark = pytest.mark.django_db(databases="__all__")


def snapshot() -> tuple:
    spaces = list(
        Space.objects.order_by("account__api_key", "position").values_list(
            "account__api_key", "space_id", "name", "fields"
        )
    )
    items = list(
        Item.objects.order_by("item_id").values_list(
            "item_id", "uuid", "primary_field", "values"
        )
    )
    leads = list(Lead.objects.order_by("lead_id").values_list("lead_id", "data"))
    for i, (lead_id, data) in enumerate(leads):
        data = {k: v for k, v in data.items() if k not in ("timestamp", "created")}
        leads[i] = (lead_id, {k: v for k, v in data.items() if k != "updated"})
    chats = list(
        Chat.objects.order_by("account__api_key", "cid").values_list(
            "account__api_key",
            "cid",
            "uid",
            "chatbot",
            "agent_id",
            "rating",
            "first_response",
            "message_count",
        )
    )
    messages = [
        [(m["id"], m["sender"], m["message"]) for m in ms]
        for ms in Chat.objects.order_by("account__api_key", "cid").values_list(
            "messages", flat=True
        )
    ]
    return spaces, items, leads, chats, messages


@pytest.mark.parametrize("size", [0, 1, 300])
def test_same_seed_same_data(size):
    seed(size=size, seed=5, reset=True)
    first = snapshot()
    seed(size=size, seed=5, reset=True)
    assert snapshot() == first
    assert Chat.objects.filter(account__api_key=MAIN_KEY).count() == size
    assert Chat.objects.filter(account__api_key=CLIENT_KEY).count() == max(
        10, size // 20
    )
    seed(size=size, seed=6, reset=True)
    assert snapshot() != first


def test_the_seed_has_what_the_tests_and_demo_rely_on():
    seed(size=500, seed=1, reset=True)
    assert set(Account.objects.values_list("api_key", flat=True)) == {
        MAIN_KEY,
        CLIENT_KEY,
    }
    for account in Account.objects.all():
        spaces = list(Space.objects.filter(account=account).order_by("position"))
        assert len(spaces) == 3
        assert sorted(f["type"] for f in spaces[0].fields) == sorted(FIELD_TYPES)
        # Every seeded item passes the sandbox's own validation.
        for item in Item.objects.filter(space__account=account):
            body = {"primary_field": item.primary_field, **item.values}
            assert views.validate(item.space, body, None)[1] == item.values
    chats = Chat.objects.filter(account__api_key=MAIN_KEY)
    starts = list(chats.values_list("started", flat=True))
    assert len(set(starts)) < len(starts)  # some chats share their second
    assert all(s.microsecond == 0 for s in starts)
    assert chats.filter(chatbot=True).exists() and chats.filter(chatbot=False).exists()
    assert chats.filter(rating__isnull=False).exists()
    span = max(starts) - min(starts)
    assert span.days >= 90  # months of chats
    for chat in chats[:50]:
        assert chat.message_count == len(chat.messages) >= 2
        senders = {m["sender"] for m in chat.messages}
        assert "visitor" in senders
        assert ("agent" in senders) is not chat.chatbot  # humans answer humans
    assert "already seeded" in seed(size=20, seed=1)
    assert Chat.objects.filter(account__api_key=MAIN_KEY).count() == 500


@pytest.mark.slow
def test_100000_chats_seed_fast():
    began = time.monotonic()
    seed(size=100_000, seed=1, reset=True)
    took = time.monotonic() - began
    assert Chat.objects.filter(account__api_key=MAIN_KEY).count() == 100_000
    assert took < 60, f"seeding 100,000 chats took {took:.1f}s"
