"""The sandbox posts finished chats like Smartsupp's legacy POST hook
(vendor-apis.md §5.5): a §5.5-shaped body, POSTed as JSON to the account's
hook URL (for the portal: its shared receiver), by a function and by the
sandbox's control endpoint; the portal's schema reads every field back."""

from __future__ import annotations

import requests

from vendors.smartsupp.sandbox import hook
from vendors.smartsupp.sandbox.models import Account
from vendors.smartsupp.sandbox.seed import CLIENT_KEY, MAIN_NAME, RESELLER_KEY
from vendors.smartsupp.schemas import FinishedChat

from .conftest import SANDBOX

pytestmark = SANDBOX


def control(sandbox, aid, key=RESELLER_KEY, **body):
    return requests.post(
        f"{sandbox}/accounts/{aid}/_sandbox/finished-chat",
        headers={"apiKey": key},
        json=body,
        timeout=10,
    )


def test_the_control_endpoint_posts_a_finished_chat_to_the_hook_url(
    sandbox, main_id, receiver
):
    url, received = receiver
    answer = control(sandbox, main_id, url=url, seed=7)
    assert answer.status_code == 200 and answer.json()["posted"] is True
    assert len(received) == 1
    post = received[0]
    assert post["path"] == "/hooks/41/t0ken/"
    assert post["content_type"] == "application/json"
    body = post["body"]
    assert body == answer.json()["chat"]
    assert set(body) == {
        "accountId",
        "beginAt",
        "endAt",
        "channel",
        "visitor",
        "paths",
        "messages",
    }
    chat = FinishedChat.parse(body)
    assert chat.account_id == main_id
    assert chat.begin_at < chat.end_at  # ms epochs, read as aware UTC
    assert chat.channel.is_completed and not chat.channel.is_missed
    assert chat.channel.messages_count == len(chat.messages) == 4
    assert chat.channel.duration == int((chat.end_at - chat.begin_at).total_seconds())
    assert [m.type for m in chat.messages] == ["visitor", "system", "agent", "system"]
    assert chat.messages[1].content == "agent.join"
    assert chat.messages[-1].content == "close.visitorClose"
    assert chat.messages[2].name == "Alice"  # the account's first active user
    assert chat.paths and all(p.url.startswith("https://") for p in chat.paths)
    assert chat.visitor.id and chat.visitor.variables["plan"]["value"] == "pro"
    assert chat.external_id == body["channel"]["id"]
    # The URL is kept: the next chat goes there without being told.
    assert Account.objects.get(number=int(main_id)).hook_url == url
    assert control(sandbox, main_id, missed=True).status_code == 200
    missed = FinishedChat.parse(received[1]["body"])
    assert missed.channel.is_missed and not missed.channel.is_completed
    assert [m.type for m in missed.messages] == ["visitor"]


def test_the_same_seed_builds_the_same_chat(sandbox, main_id):
    account = Account.objects.get(number=int(main_id))
    first = hook.finished_chat(account, seed=3)
    again = hook.finished_chat(account, seed=3)
    assert first["channel"] == again["channel"]
    assert first["visitor"] == again["visitor"]
    other = hook.finished_chat(account, seed=4)
    assert other["channel"]["id"] != first["channel"]["id"]


def test_post_finished_chat_needs_a_url(sandbox, main_id, receiver):
    url, received = receiver
    account = Account.objects.get(number=int(main_id))
    try:
        hook.post_finished_chat(account)
    except ValueError as exc:
        assert "no hook URL" in str(exc)
    else:
        raise AssertionError("posted without a URL")
    sent = hook.post_finished_chat(account, url, offline=True)
    assert received[0]["body"] == sent and sent["channel"]["isOffline"] is True


def test_the_control_endpoint_is_guarded_like_the_api(sandbox, main_id):
    answer = control(sandbox, main_id)  # no URL given and none kept
    assert answer.status_code == 400 and answer.json()["hint"] == "url"
    answer = control(sandbox, main_id, url="ftp://x.test/")
    assert answer.status_code == 400 and answer.json()["hint"] == "url"
    answer = control(sandbox, main_id, key="wrong", url="http://x.test/")
    assert answer.status_code == 401 and answer.json()["error"] == "AuthError"
    # Another key's account is not found.
    answer = control(sandbox, main_id, key=CLIENT_KEY, url="http://x.test/")
    assert answer.status_code == 404
    answer = requests.get(
        f"{sandbox}/accounts/{main_id}/_sandbox/finished-chat",
        headers={"apiKey": RESELLER_KEY},
        timeout=10,
    )
    assert answer.status_code == 405
    assert Account.objects.get(title=MAIN_NAME).hook_url == ""
