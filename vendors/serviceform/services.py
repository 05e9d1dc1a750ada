"""Serviceform writes and explicit look-ups: call Serviceform first, then store
its answer (never the other way round: a refusal leaves the local rows as they
were).

- `create_item` is not retryable: Serviceform gives every POST a new id, so a
  replay after an answer lost on the way back would make a second item.
- `update_item` (PUT with every value the item keeps) and `delete_item` are
  idempotent, so `@retryable`: a view keeps them for a background retry when
  Serviceform is away. Kept updates of one item merge value by value (the later
  value of a field wins) and show on the page while they wait.
- `refresh_item` (GET one item) is what the edit page offers before editing,
  and `refresh_chat` reads one chat's transcript again (POST /chats by the
  visitor's uid, with messages).

A rejected key (403, or 401 from the leads section) also puts the account in
"needs attention" with the client's message, as a failed sync would.

The row mappings below are the pages' own; the streams (sync.py) store the same
objects from their listings. # Integrator: where sync.py has its own
`item_row` / `chat_row` / `message_rows`, these should call them (one mapping).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cobrowse_portal.core.choices import AccountStatus
from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.writes import retryable
from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.bulk import delete_remote, upsert
from cobrowse_portal.vendorkit.redaction import redact

from .client import MAX_LIMIT
from .models import (
    ChatStatus,
    ServiceformChat,
    ServiceformItem,
    ServiceformMessage,
    ServiceformSpace,
)
from .schemas import Chat, Item

log = logging.getLogger("cobrowse.vendors.serviceform.services")

#: A chat with no `ended` and no message for this long is taken as over.
#: Unknown (vendor-apis.md §4.6): the docs give no end signal for a chat.
IDLE_ENDS_CHAT = timedelta(hours=1)


def client_for(account: VendorAccount):
    return account.client()


class _Guard:
    """`with _Guard(account):` around Serviceform calls: a rejected key marks
    the account as needing attention."""

    def __init__(self, account: VendorAccount) -> None:
        self.account = account

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, errors.AuthError):
            VendorAccount.objects.filter(pk=self.account.pk).update(
                status=AccountStatus.NEEDS_ATTENTION,
                status_message=redact(exc.user_message())[:500],
            )
        return False


# --- Serviceform payloads as stored rows ----------------------------------------------
def item_row(space: ServiceformSpace, item: Item) -> dict:
    """An Item as a ServiceformItem row of `space` (values by machine name)."""
    return {
        "external_id": item.id,
        "space": space.pk,
        "space_external_id": item.space_id or space.external_id,
        "uid": item.uid[:128],
        "uuid": item.uuid[:128],
        "client_id": item.client_id[:128],
        "primary_field": item.primary_field[:500],
        "values": item.values,
        "created": item.created,
        "updated": item.updated,
        "last_updater": item.last_updater[:200],
        "raw": item.raw,
    }


def store_item(
    account: VendorAccount, space: ServiceformSpace, item: Item
) -> ServiceformItem:
    if not item.id:
        raise errors.MalformedResponse("Serviceform answered an item without an id")
    upsert(ServiceformItem, account, [item_row(space, item)])
    return ServiceformItem.objects.get(account=account, external_id=item.id)


def chat_status(chat: Chat, now=None) -> str:
    """Ended when Serviceform sends an `ended` time, or when nothing happened in
    the chat for IDLE_ENDS_CHAT (Unknown, vendor-apis.md §4.6: no end signal is
    documented; `ended` falls back to the last message's time, which alone
    does not mean the chat is over)."""
    if chat.raw.get("ended"):
        return ChatStatus.ENDED
    last = chat.ended or chat.changed or chat.started
    now = now or timezone.now()
    return ChatStatus.ENDED if last and now - last > IDLE_ENDS_CHAT else ChatStatus.OPEN


def chat_row(chat: Chat, *, with_messages: bool) -> dict:
    """A Chat as a ServiceformChat row; `messages_changed_at` is set when the
    answer carried the history (so the streams do not fetch it again)."""
    raw = chat.raw
    status = chat_status(chat)
    duration = None
    if chat.started and chat.ended and chat.ended >= chat.started:
        duration = int((chat.ended - chat.started).total_seconds())
    row = {
        "external_id": chat.id,
        "visitor_uid": chat.uid[:128],
        "session_id": str(raw.get("session") or "")[:128],
        "site_name": chat.site[:200],
        "source": chat.source[:100],
        "page_url": chat.url[:2000],
        "visitor_name": chat.visitor_name[:200],
        "visitor_email": chat.visitor_email[:254],
        "visitor_phone": chat.visitor_phone[:64],
        "agent_external_id": chat.agent_id[:128],
        "agent_name": chat.agent_name[:200],
        "agent_email": chat.agent_email[:254],
        "is_chatbot": chat.chatbot,
        "status": status,
        "started_at": chat.started,
        "agent_joined_at": chat.agent_joined,
        "ended_at": chat.ended if status == ChatStatus.ENDED else None,
        "last_message_at": chat.messages[-1].sent_at if chat.messages else chat.ended,
        "changed_at": chat.changed,
        "duration": duration,
        "first_response_seconds": chat.first_response_seconds,
        "rating": chat.rating,
        "message_count": chat.message_count or 0,
        "last_message": chat.last_message,
        "last_sender": str(raw.get("lastSender") or "")[:40],
        # The history is kept in its own rows, not twice.
        "raw": {k: v for k, v in raw.items() if k != "history"},
    }
    if with_messages:
        row["messages_changed_at"] = chat.changed or chat.ended or chat.started
    return row


def message_rows(row: ServiceformChat, chat: Chat) -> list[dict]:
    """The chat's history as ServiceformMessage rows, in the vendor's order (a
    message without an id is keyed by its position, "#3")."""
    out = []
    for position, msg in enumerate(chat.messages):
        message_id = (msg.id or f"#{position}")[:100]
        out.append(
            {
                "external_id": ServiceformMessage.key(row.external_id, message_id),
                "chat": row.pk,
                "message_id": message_id,
                "position": position,
                "sender": msg.sender,
                "author": msg.author[:200],
                "kind": msg.kind[:40],
                "text": msg.text,
                "sent_at": msg.sent_at,
                "raw": {
                    "id": msg.id,
                    "sender": msg.sender,
                    "author": msg.author,
                    "text": msg.text,
                    "sent_at": msg.sent_at.isoformat() if msg.sent_at else None,
                    "kind": msg.kind,
                },
            }
        )
    return out


def store_chat(account: VendorAccount, chat: Chat) -> ServiceformChat:
    """One chat and its messages in one transaction; messages no longer in the
    history are marked removed."""
    if not chat.id:
        raise errors.MalformedResponse("Serviceform answered a chat without a cid")
    with transaction.atomic():
        fields = chat_row(chat, with_messages=True)
        upsert(ServiceformChat, account, [fields])
        # An unchanged chat is skipped by its fingerprint: the messages' fetch
        # time is written all the same.
        ServiceformChat.objects.filter(account=account, external_id=chat.id).update(
            messages_changed_at=fields["messages_changed_at"]
        )
        row = ServiceformChat.objects.get(account=account, external_id=chat.id)
        rows = message_rows(row, chat)
        upsert(ServiceformMessage, account, rows)
        ServiceformMessage.objects.filter(account=account, chat=row).exclude(
            external_id__in=[r["external_id"] for r in rows]
        ).filter(removed_at__isnull=True).update(removed_at=timezone.now())
    return row


# --- items ----------------------------------------------------------------------------
def _not_found(exc: errors.NotFound, text: str) -> errors.NotFound:
    return errors.NotFound(
        exc.message, status=exc.status, vendor_code=exc.vendor_code, vendor_message=text
    )


def create_item(
    account: VendorAccount,
    space: ServiceformSpace,
    *,
    primary_field: str,
    values: dict[str, Any],
) -> ServiceformItem:
    """POST /flex/spaces/{spaceId}/items: the new item is stored as Serviceform
    answers it. A 422 is PermanentVendorError with `field_errors` by machine
    name (the form shows each next to its field). Not retryable."""
    body = {**values, "primary_field": primary_field}
    try:
        with _Guard(account):
            item = client_for(account).create_item(space.external_id, body)
    except errors.NotFound as exc:
        raise _not_found(
            exc, f"Serviceform has no space {space} any more (deleted there)."
        ) from exc
    return store_item(account, space, item)


def refresh_item(account: VendorAccount, item: ServiceformItem) -> ServiceformItem:
    """GET /flex/spaces/{spaceId}/items/{itemId}: the item as Serviceform has
    it now, stored. A 404 marks the local row removed."""
    try:
        with _Guard(account):
            fresh = client_for(account).get_item(
                item.space_external_id, item.external_id
            )
    except errors.NotFound as exc:
        delete_remote(item, lambda: None, gone="")
        raise _not_found(
            exc,
            "Serviceform no longer has this item (deleted there); the portal's "
            "copy is marked removed.",
        ) from exc
    if not fresh.id:
        fresh.id = item.external_id
    return store_item(account, item.space, fresh)


def merge_item_changes(earlier: dict, later: dict) -> dict:
    """Kept updates of one item merge field by field: the later value of a
    field wins, fields only the earlier one set are kept."""
    return {
        "primary_field": later.get("primary_field", earlier.get("primary_field")),
        "values": {**earlier.get("values", {}), **later.get("values", {})},
    }


@retryable(merge=merge_item_changes)
def update_item(
    account: VendorAccount,
    item: ServiceformItem,
    *,
    primary_field: str,
    values: dict[str, Any],
) -> ServiceformItem:
    """PUT /flex/spaces/{spaceId}/items/{itemId}. Unknown (vendor-apis.md §4.4)
    whether PUT replaces or merges, so every value the item should keep is
    sent: the stored values of the space's fields, then the form's (a cleared
    field as null). A stored value of a field the space no longer has is not
    sent (Serviceform refuses an unknown field: every later edit would fail).
    `values` are JSON values, so a kept write replays exactly."""
    known = {f.machine for f in item.space.field_defs()}
    kept = {k: v for k, v in (item.values or {}).items() if k in known}
    body = {**kept, **values, "primary_field": primary_field}
    try:
        with _Guard(account):
            fresh = client_for(account).update_item(
                item.space_external_id, item.external_id, body
            )
    except errors.NotFound as exc:
        delete_remote(item, lambda: None, gone="")
        raise _not_found(
            exc,
            "Serviceform no longer has this item (deleted there); nothing was "
            "saved and the portal's copy is marked removed.",
        ) from exc
    if not fresh.id:
        fresh.id = item.external_id
    return store_item(account, item.space, fresh)


@retryable(removes=True)
def delete_item(account: VendorAccount, item: ServiceformItem) -> str:
    """DELETE /flex/spaces/{spaceId}/items/{itemId}; the local row is marked
    removed once Serviceform confirms (a 404: already gone, marked all the same)."""
    with _Guard(account):
        answer = delete_remote(
            item,
            lambda: client_for(account).delete_item(
                item.space_external_id, item.external_id
            ),
            gone="Serviceform no longer had this item.",
        )
    return answer if isinstance(answer, str) else f"Item {item} deleted."


# --- chats ----------------------------------------------------------------------------
def refresh_chat(account: VendorAccount, chat: ServiceformChat) -> ServiceformChat:
    """POST /chats with `uid` (the chat's visitor), `showMessages` and the
    window of the chat's start second: the chat and its whole transcript,
    stored. Serviceform has no call for one chat by its cid, so the visitor's
    chats of that second are asked for and the one with this cid is taken."""
    if chat.started_at is None or not chat.visitor_uid:
        raise errors.PermanentVendorError(
            "This chat has no start time or visitor id, so Serviceform cannot be "
            "asked for it again; the next chats sync brings its messages."
        )
    start = chat.started_at.replace(microsecond=0)
    with _Guard(account):
        found = client_for(account).list_chats(
            start,
            start + timedelta(seconds=1),
            uid=chat.visitor_uid,
            limit=MAX_LIMIT,
            show_messages=True,
        )
    match = next((c for c in found if c.id == chat.external_id), None)
    if match is None:
        raise errors.NotFound(
            "chat not in its window",
            status=404,
            vendor_message=(
                f"Serviceform no longer lists chat {chat.external_id} for visitor "
                f"{chat.visitor_uid}."
            ),
        )
    return store_chat(account, match)
