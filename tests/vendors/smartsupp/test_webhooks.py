"""Smartsupp's finished-chat intake (the legacy POST hook, vendor-apis.md
§5.5): the sandbox posts a finished chat to the account's receiver; the shared
receiver stores it once (event id: the channel id) and the drain stores the
chat, its messages and its activity. A chat posted twice is one chat with one
set of messages; values too long for their columns are refused at intake."""

from __future__ import annotations

import json

import pytest
import requests
from django.test import Client, RequestFactory

from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import ActivityKind, ActivityStatus, EventStatus
from cobrowse_portal.core.models import Activity, WebhookEvent
from cobrowse_portal.vendorkit.webhooks import receiver_url
from tests.conftest import sandbox_account
from vendors.smartsupp.models import SmartsuppChat, SmartsuppChatMessage
from vendors.smartsupp.sandbox import hook
from vendors.smartsupp.sandbox.models import Account
from vendors.smartsupp.sandbox.seed import MAIN_NAME, RESELLER_KEY
from vendors.smartsupp.webhooks import (
    CHAT_FINISHED,
    SmartsuppWebhookHandler,
    chat_key,
    store_chats,
)

from .conftest import SANDBOX

pytestmark = SANDBOX


@pytest.fixture
def account(reseller, sandbox, live_server):
    return sandbox_account(reseller, live_server.url, vendor="smartsupp")


@pytest.fixture
def drains(monkeypatch) -> list[int]:
    """Drains the intake queued (run by hand with `tasks.process_webhook_events`)."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", queued.append)
    return queued


def hook_url(account, live_server) -> str:
    """The account's receiver on the live server's host, as the portal tells
    Smartsupp support to set it."""
    host = live_server.url.split("://", 1)[1]
    return receiver_url(account, RequestFactory().get("/", HTTP_HOST=host))


def sandbox_post(sandbox, main_id, **body) -> dict:
    """Ask the sandbox to post one finished chat (its control endpoint)."""
    answer = requests.post(
        f"{sandbox}/accounts/{main_id}/_sandbox/finished-chat",
        headers={"apiKey": RESELLER_KEY},
        json=body,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["chat"]


def post(account, body) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = Client().post(
        account.webhook_path, data, content_type="application/json"
    )
    return response.status_code


def test_the_sandbox_posts_a_chat_to_the_receiver_and_it_is_stored_once(
    account, sandbox, main_id, live_server, drains
):
    url = hook_url(account, live_server)
    sent = sandbox_post(sandbox, main_id, url=url, seed=7)
    event = WebhookEvent.objects.get(account=account)
    assert event.event_type == CHAT_FINISHED and event.status == EventStatus.RECEIVED
    assert event.external_id == sent["channel"]["id"]
    assert drains == [account.pk]
    tasks.process_webhook_events(account.pk)
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED, event.error

    chat = SmartsuppChat.objects.get(account=account)
    assert chat.external_id == sent["channel"]["id"]
    assert chat.smartsupp_account_id == main_id
    assert int(chat.begin_at.timestamp() * 1000) == sent["beginAt"]
    assert int(chat.end_at.timestamp() * 1000) == sent["endAt"]
    assert chat.duration == sent["channel"]["duration"]
    assert chat.is_completed and not chat.is_missed
    assert chat.visitor_id == sent["visitor"]["id"]
    assert chat.visitor_name == sent["visitor"]["name"]
    assert chat.first_url == sent["paths"][0]["url"]
    assert chat.agent_name == "Alice"  # the first agent message's name
    messages = list(chat.messages.order_by("position"))
    assert [m.type for m in messages] == ["visitor", "system", "agent", "system"]
    assert [m.content for m in messages] == [m["content"] for m in sent["messages"]]
    assert messages[0].sent_at == chat.begin_at

    act = Activity.objects.get(account=account, external_id=chat.external_id)
    assert act.kind == ActivityKind.CHAT and act.status == ActivityStatus.ENDED
    assert act.duration == chat.duration and act.agent_name == "Alice"

    # Smartsupp (or a proxy) posts the same chat again: stored once.
    again = sandbox_post(sandbox, main_id, seed=7)  # the kept hook URL
    assert again["channel"]["id"] == sent["channel"]["id"]
    assert WebhookEvent.objects.filter(account=account).count() == 1
    tasks.process_webhook_events(account.pk)
    assert SmartsuppChat.objects.filter(account=account).count() == 1
    assert SmartsuppChatMessage.objects.filter(chat=chat).count() == 4
    assert Activity.objects.filter(account=account).count() == 1


def test_missed_and_offline_chats_are_tagged(
    account, sandbox, main_id, live_server, drains
):
    url = hook_url(account, live_server)
    missed = sandbox_post(sandbox, main_id, url=url, seed=1, missed=True)
    offline = sandbox_post(sandbox, main_id, seed=2, offline=True)
    tasks.process_webhook_events(account.pk)  # one batch of two
    assert SmartsuppChat.objects.filter(account=account).count() == 2
    tags = {a.external_id: a.tags for a in Activity.objects.filter(account=account)}
    assert "missed" in tags[missed["channel"]["id"]]
    assert "offline" in tags[offline["channel"]["id"]]
    row = SmartsuppChat.objects.get(external_id=missed["channel"]["id"])
    assert row.is_missed and row.agent_name == "" and row.messages.count() == 1


def test_storing_a_chat_again_replaces_its_messages(account, sandbox, main_id):
    vendor = Account.objects.get(title=MAIN_NAME)
    body = hook.finished_chat(vendor, seed=5)
    assert store_chats(account, [body]) == 1
    shorter = {**body, "messages": body["messages"][:2]}
    shorter["messages"][0] = {**shorter["messages"][0], "content": "Edited"}
    assert store_chats(account, [shorter]) == 1
    chat = SmartsuppChat.objects.get(account=account)
    assert list(
        chat.messages.order_by("position").values_list("content", flat=True)
    ) == [
        "Edited",
        "agent.join",
    ]
    # The same chat twice in one batch: the later copy wins.
    store_chats(account, [body, shorter])
    assert chat.messages.count() == 2


def test_a_chat_without_a_channel_id_is_identified_by_account_start_and_visitor(
    account, drains
):
    body = {
        "accountId": "1001",
        "beginAt": 1764669600000,
        "endAt": 1764669900000,
        "visitor": {"id": "vi1", "name": "Ana"},
        "messages": [{"type": "visitor", "content": "Hi", "sentAt": 1764669600000}],
    }
    assert post(account, body) == 202  # accepted
    assert post(account, body) == 200  # repeated: "duplicate ignored"
    events = WebhookEvent.objects.filter(account=account)
    assert events.count() == 1
    key = chat_key(body)
    assert events.get().external_id == key and len(key) <= 64
    other = {**body, "visitor": {"id": "vi2"}}
    assert chat_key(other) != key
    tasks.process_webhook_events(account.pk)
    chat = SmartsuppChat.objects.get(account=account)
    assert chat.external_id == key and chat.visitor_name == "Ana"


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'{"channel": "ch1"}',
        b'{"visitor": {"id": "v"}}',  # nothing tells it from another chat
        json.dumps({"channel": {"id": "c" * 65}}).encode(),
        json.dumps({"channel": {"id": "c1"}, "visitor": {"name": "n" * 201}}).encode(),
        json.dumps(
            {"channel": {"id": "c1"}, "visitor": {"countryCode": "x" * 9}}
        ).encode(),
        json.dumps({"channel": {"id": "c1"}, "accountId": {"id": 1}}).encode(),
        json.dumps(
            {
                "channel": {"id": "c1"},
                "messages": [{"type": "agent", "name": "a" * 201}],
            }
        ).encode(),
        json.dumps(
            {"channel": {"id": "c1"}, "messages": [{"type": "agent", "from": "f" * 65}]}
        ).encode(),
        json.dumps({"channel": {"id": "c1"}, "paths": [{"url": "u" * 2001}]}).encode(),
    ],
)
def test_unreadable_or_too_long_posts_are_refused_and_recorded(account, body):
    assert post(account, body) == 400
    assert WebhookEvent.objects.get(account=account).status == EventStatus.INVALID
    assert not SmartsuppChat.objects.exists()


def test_the_event_id_is_the_channel_id():
    handler = SmartsuppWebhookHandler()
    assert handler.identify({"channel": {"id": "ch1"}}) == ("ch1", None, CHAT_FINISHED)
    assert handler.identify({"channel": {"id": 42}})[0] == "42"  # a number
    handler.validate({"channel": {"id": "ch1"}, "messages": [{"name": "Ana"}]})
