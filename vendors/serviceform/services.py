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

Answers are stored through the streams' mappings (sync.py): a row written from
a page and the same row pulled later have one shape, one status rule and one
fingerprint.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.writes import retryable
from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.bulk import delete_remote
from cobrowse_portal.vendorkit.runs import RejectedKeyGuard

from . import sync
from .client import MAX_LIMIT
from .models import (
    ServiceformChat,
    ServiceformItem,
    ServiceformMessage,
    ServiceformSpace,
)
from .schemas import Chat, Item

log = logging.getLogger("cobrowse.vendors.serviceform.services")


def client_for(account: VendorAccount):
    return account.client()


# A rejected key marks the account (vendorkit), around every call below.
_Guard = RejectedKeyGuard


# --- Serviceform payloads as stored rows ----------------------------------------------
def store_item(
    account: VendorAccount, space: ServiceformSpace, item: Item
) -> ServiceformItem:
    if not item.id:
        raise errors.MalformedResponse("Serviceform answered an item without an id")
    sync.store_items(account, space, [item])
    return ServiceformItem.objects.get(account=account, external_id=item.id)


def store_chat(account: VendorAccount, chat: Chat) -> ServiceformChat:
    """One chat and its whole history in one transaction; messages no longer in
    the history are marked removed."""
    key = sync.chat_key(chat)
    if not key:
        raise errors.MalformedResponse("Serviceform answered a chat without a cid")
    now = timezone.now()
    with transaction.atomic():
        sync.store_chats(account, [chat], {key: chat}, now)
        row = ServiceformChat.objects.get(account=account, external_id=key)
        # An unchanged chat is skipped by its fingerprint: the history's fetch
        # time is written all the same.
        stamp = sync.messages_stamp(chat) or now
        ServiceformChat.objects.filter(pk=row.pk).update(messages_changed_at=stamp)
        row.messages_changed_at = stamp
        kept = [ext for ext, _ in sync.message_ids(key, chat.messages)]
        ServiceformMessage.objects.filter(account=account, chat=row).exclude(
            external_id__in=kept
        ).filter(removed_at__isnull=True).update(removed_at=now)
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
