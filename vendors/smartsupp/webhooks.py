"""Smartsupp's finished-chat intake: the legacy "POST hook" (vendor-apis.md
§5.5). Smartsupp POSTs every finished, missed or offline chat as JSON, in real
time, to a URL its support sets up on request (there is no API or UI for it):
the account's receiver (`vendorkit.webhooks.receiver_url`), /hooks/<account>/
<token>/, which checks the token, stores the post once and hands it to Celery.

The body is the chat itself: no envelope, no event type, no signature (none
documented; the URL token is the only proof of origin). The event id is the
chat's `channel.id`; Unknown (§5.5): whether a channel id is always sent. A
body without one is identified by a hash of `accountId`, `beginAt` and the
visitor's id (`chat_key`), which is also the stored chat's external id, so a
repeated post of the same chat is stored once either way. A chat only ever
arrives finished (no later state to order by): no sequence.

Applying stores the SmartsuppChat row (through `bulk.upsert`: the activity
index follows in the same transaction) and replaces its messages with the
post's, so a chat posted again is one chat with one set of messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from django.db import transaction

from cobrowse_portal.vendorkit.bulk import upsert
from cobrowse_portal.vendorkit.webhooks import Event, InvalidEvent, WebhookHandler

from .models import SmartsuppChat, SmartsuppChatMessage
from .schemas import FinishedChat, as_dict, as_list, as_str

#: The one kind of post Smartsupp's hook makes (the name is ours).
CHAT_FINISHED = "chat.finished"
_CHAT = "smartsupp.SmartsuppChat"
_MESSAGE = "smartsupp.SmartsuppChatMessage"
#: The event id column's size (vendorkit.webhooks).
EVENT_ID_MAX = 64
#: Per message and per page: payload key -> (model label, field).
MESSAGE_COLUMNS = {
    "name": "name",
    "from": "sender",
    "email": "email",
    "triggeredBy": "triggered_by",
}
PATH_COLUMNS = {"url": "first_url", "title": "first_title"}


def chat_key(payload: dict) -> str:
    """The chat's identity: `channel.id`, else a hash of the account, the start
    and the visitor (Unknown, §5.5: the hook documents no other id)."""
    channel_id = as_str(as_dict(payload.get("channel")).get("id")).strip()
    if channel_id:
        return channel_id
    visitor = as_str(as_dict(payload.get("visitor")).get("id"))
    basis = (
        f"{as_str(payload.get('accountId'))}|{as_str(payload.get('beginAt'))}|{visitor}"
    )
    digest = hashlib.sha1(basis.encode(), usedforsecurity=False).hexdigest()
    return f"h{digest}"


def _limit(label: str, field: str) -> int:
    from django.apps import apps

    app_label, model = label.split(".")
    return apps.get_model(app_label, model)._meta.get_field(field).max_length


def chat_row(chat: FinishedChat, key: str) -> dict:
    """A SmartsuppChat row from a parsed hook body (sizes were checked at
    intake; slicing here only guards rows stored some other way)."""
    channel, visitor = chat.channel, chat.visitor
    first = chat.paths[0] if chat.paths else None
    agent_id, agent_name, agent_email = SmartsuppChat.agent_of(chat.raw.get("messages"))
    return {
        "external_id": key,
        "smartsupp_account_id": chat.account_id[:64],
        "begin_at": chat.begin_at,
        "end_at": chat.end_at,
        "duration": channel.duration,
        "is_missed": bool(channel.is_missed),
        "is_offline": bool(channel.is_offline),
        "is_triggered": bool(channel.is_triggered),
        "is_completed": bool(channel.is_completed),
        "is_dropped": bool(channel.is_dropped),
        "rating": channel.rating,
        "rating_desc": channel.rating_desc,
        "messages_count": channel.messages_count,
        "avg_response": channel.avg_response,
        "first_response": channel.first_response,
        "visitor_id": visitor.id[:64],
        "visitor_name": visitor.name[:200],
        "visitor_email": visitor.email[:254],
        "visitor_city": visitor.city[:100],
        "visitor_country": visitor.country[:100],
        "visitor_country_code": visitor.country_code[:8],
        "referer": visitor.referer[:2000],
        "first_url": first.url[:2000] if first else "",
        "first_title": first.title[:500] if first else "",
        "agent_id": agent_id[:64],
        "agent_name": agent_name[:200],
        "agent_email": agent_email[:254],
        "paths": [{"url": p.url, "title": p.title} for p in chat.paths],
        # The visitor's variables, note, user agent and IP stay here.
        "raw": chat.raw,
    }


def message_rows(chat: FinishedChat) -> list[dict]:
    return [
        {
            "position": i,
            "type": SmartsuppChatMessage.type_of(m.type),
            "name": m.name[:200],
            "sender": m.sender[:64],
            "email": m.email[:254],
            "content": m.content,
            "sent_at": m.sent_at,
            "triggered_by": m.triggered_by[:200],
        }
        for i, m in enumerate(chat.messages)
    ]


def store_chats(account, payloads: Iterable[dict]) -> int:
    """Store finished chats (hook bodies): the chat rows in one upsert (the
    activity index follows), then their messages replaced in two statements.
    Returns the chats stored. Also what the demo stores its chats with."""
    parsed: dict[str, FinishedChat] = {}
    for payload in payloads:
        # A chat twice in one batch: the later post wins, as in the upsert.
        parsed[chat_key(payload)] = FinishedChat.parse(payload)
    if not parsed:
        return 0
    with transaction.atomic():
        upsert(
            SmartsuppChat,
            account,
            [chat_row(chat, key) for key, chat in parsed.items()],
        )
        pks = dict(
            SmartsuppChat.objects.filter(account=account, external_id__in=list(parsed))
            .order_by()
            .values_list("external_id", "pk")
        )
        SmartsuppChatMessage.objects.filter(chat_id__in=list(pks.values())).delete()
        SmartsuppChatMessage.objects.bulk_create(
            [
                SmartsuppChatMessage(chat_id=pks[key], **row)
                for key, chat in parsed.items()
                for row in message_rows(chat)
            ],
            batch_size=1000,
        )
    return len(parsed)


class SmartsuppWebhookHandler(WebhookHandler):
    known_types = frozenset({CHAT_FINISHED})
    # Checked at intake against the model's column sizes (vendorkit.webhooks):
    # a value too long is refused (400, recorded), never cut or failed later.
    columns = {
        "channel.id": f"{_CHAT}.external_id",
        "accountId": f"{_CHAT}.smartsupp_account_id",
        "visitor.id": f"{_CHAT}.visitor_id",
        "visitor.name": f"{_CHAT}.visitor_name",
        "visitor.email": f"{_CHAT}.visitor_email",
        "visitor.city": f"{_CHAT}.visitor_city",
        "visitor.country": f"{_CHAT}.visitor_country",
        "visitor.countryCode": f"{_CHAT}.visitor_country_code",
        "visitor.referer": f"{_CHAT}.referer",
    }

    def identify(self, payload):
        if not isinstance(payload, dict):
            raise InvalidEvent("not an object")
        channel = payload.get("channel")
        if channel is not None and not isinstance(channel, dict):
            raise InvalidEvent("channel must be an object")
        key = chat_key(payload)
        has_channel_id = bool(as_str(as_dict(channel).get("id")).strip())
        if not has_channel_id and not (
            as_str(payload.get("accountId")) and as_str(payload.get("beginAt"))
        ):
            # Nothing to tell this chat from any other.
            raise InvalidEvent("the chat has no channel id, account or start")
        if len(key) > EVENT_ID_MAX:
            raise InvalidEvent(f"channel.id longer than {EVENT_ID_MAX} characters")
        return key, None, CHAT_FINISHED

    def validate(self, payload) -> None:
        super().validate(payload)
        # The list items' text lands in columns too (messages, the first page).
        for i, message in enumerate(as_list(payload.get("messages"))):
            if not isinstance(message, dict):
                continue
            for key, field in MESSAGE_COLUMNS.items():
                _check(message.get(key), _limit(_MESSAGE, field), f"messages.{i}.{key}")
        paths = as_list(payload.get("paths"))
        if paths and isinstance(paths[0], dict):
            for key, field in PATH_COLUMNS.items():
                _check(paths[0].get(key), _limit(_CHAT, field), f"paths.0.{key}")

    def apply(self, account, event) -> None:
        store_chats(account, [as_dict(event.payload)])

    def apply_batch(self, account, events: Sequence[Event]) -> dict[int, Exception]:
        """The whole batch in one upsert and one replacement of messages; if
        that raises, the drain applies the events one at a time."""
        store_chats(account, [as_dict(e.payload) for e in events])
        return {}


def _check(value, limit: int, where: str) -> None:
    if value is None:
        return
    if isinstance(value, dict | list):
        raise InvalidEvent(f"{where} must be text")
    if len(str(value)) > limit:
        raise InvalidEvent(f"{where} longer than {limit} characters")
