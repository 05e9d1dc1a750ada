"""Serviceform streams: map Public API answers onto local rows through
vendorkit.bulk.

- `spaces` (hourly, full): `GET /flex/spaces` (each space with its field
  definitions), then each space's items (`GET /flex/spaces/{id}/items`). Both
  are full listings: a space or item no longer listed is marked removed, and so
  is every item of a space that vanished (its items are no longer listed, and a
  space that vanishes between the two calls answers 404: none of its items is
  seen).
- `leads` (hourly, full): `GET /leads`. The docs give the leads endpoint no
  filter (no time, no id), so it cannot be incremental: every run reads the
  whole list and reconciles it; fingerprints make an unchanged lead cost no
  write (a no-change run writes nothing).
- `chats` (every 5 minutes, incremental by time): `POST /chats` over a time
  window. The first run backfills CHAT_HISTORY_DAYS; later runs read from the
  previous run's end (the cursor's `high_water`) minus CHAT_LOOKBACK up to now.
  The window walks in pages of CHAT_LIMIT chats (the client narrows a full
  window to the start time of its last chat and drops the ids already seen at
  that instant, so chats sharing a second at a page edge come exactly once).
  Messages (`showMessages`) are asked for with the listing where the chats are
  new (the part after `high_water`); the look-back part is listed without
  them, and only chats new or changed since their messages were stored
  (`ServiceformChat.stale_for_messages`) have their messages fetched again.
  Pages commit in groups of COMMIT_PAGES with the cursor of their last page,
  so a failed run resumes after the last group stored.
- `statistics` (hourly): `GET /statistics/chat` over the last STAT_DAYS days,
  recorded per day through `models.record_stat_day` (the control room's usage
  rollups follow in the same transaction).

Unknown (vendor-apis.md §4.6) and decided here:
- when a chat has ended. The docs' chat has no end or status field. A chat is
  ended when the payload carries an end (`ended`, as the sandbox sends), a
  closed status, or when its last activity (`changed`, `lastMessageTime`) is
  older than CHAT_IDLE; otherwise it is open. An open chat that falls behind
  the look-back (never listed again) is closed by `_close_forgotten`.
- a chat without a `cid` is keyed by its `session`; one with neither is
  skipped (its `uid` names the visitor, whose chats it would merge).
- statistics days are the vendor's UTC days.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import orjson
from django.conf import settings
from django.db import connections, router, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from cobrowse_portal.vendorkit.activity import select_rows, update_rows
from cobrowse_portal.vendorkit.bulk import (
    Counts,
    converters,
    mark_removed,
    reconcile,
    upsert,
    write_rows,
)
from cobrowse_portal.vendorkit.errors import NotFound
from cobrowse_portal.vendorkit.lenient import as_bool, as_int
from cobrowse_portal.vendorkit.pagination import Page, prefetch
from cobrowse_portal.vendorkit.runs import RunContext
from cobrowse_portal.vendorkit.safeurl import safe_url

from .client import MAX_LIMIT, stamp
from .models import (
    ChatStatus,
    ServiceformChat,
    ServiceformChatStatDay,
    ServiceformItem,
    ServiceformLead,
    ServiceformMessage,
    ServiceformSpace,
    record_stat_day,
)
from .schemas import METRICS, Chat, ChatMessage, Item, Lead, Space, as_str, as_time

log = logging.getLogger("cobrowse.vendors.serviceform")

#: Chats asked for per request: the largest page the API allows, so a backfill
#: makes as few round trips as it can.
CHAT_LIMIT = MAX_LIMIT
#: Pages stored per transaction (their cursor commits with the last of them).
COMMIT_PAGES = 4


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def history_days() -> int:
    """Days of chats the first run backfills (SERVICEFORM_CHAT_HISTORY_DAYS)."""
    return _setting("SERVICEFORM_CHAT_HISTORY_DAYS", 90)


def lookback() -> timedelta:
    """How far before the previous run's end a run reads again, for chats that
    changed after they were listed (SERVICEFORM_CHAT_LOOKBACK_SECONDS). A chat
    is found by its start time only, so this is how long a chat may go on
    changing and still be seen to."""
    return timedelta(seconds=_setting("SERVICEFORM_CHAT_LOOKBACK_SECONDS", 3 * 3600))


def idle() -> timedelta:
    """A chat with no activity for this long is taken as ended
    (SERVICEFORM_CHAT_IDLE_SECONDS)."""
    return timedelta(seconds=_setting("SERVICEFORM_CHAT_IDLE_SECONDS", 30 * 60))


def stat_days() -> int:
    """Days of statistics each `statistics` run reads (SERVICEFORM_STAT_DAYS)."""
    return _setting("SERVICEFORM_STAT_DAYS", 30)


def _cap(value: str, n: int) -> str:
    return (value or "")[:n]


# --- spaces and items -----------------------------------------------------------
def space_row(s: Space) -> dict:
    fields = s.raw.get("fields")
    return {
        "external_id": s.id,
        "name": _cap(s.name, 200),
        # As the vendor lists them: the item form reads them (`field_defs`).
        "fields": fields if isinstance(fields, list) else [],
        "raw": s.raw,
    }


def item_row(i: Item, space_pk: int, space_id: str) -> dict:
    return {
        "external_id": i.id,
        "space": space_pk,
        "space_external_id": _cap(i.space_id or space_id, 128),
        "uid": _cap(i.uid, 128),
        "uuid": _cap(i.uuid, 128),
        "client_id": _cap(i.client_id, 128),
        "primary_field": _cap(i.primary_field, 500),
        "values": i.values,
        "created": i.created,
        "updated": i.updated,
        "last_updater": _cap(i.last_updater, 200),
        "raw": i.raw,
    }


def store_items(account, space: ServiceformSpace, items: Iterable[Item]) -> Counts:
    """Upsert one space's items (a create or an edit's answer, or a listing)."""
    rows = [item_row(i, space.pk, space.external_id) for i in items if i.id]
    return upsert(ServiceformItem, account, rows)


def pull_spaces(ctx: RunContext) -> None:
    """Every space, then every listed space's items; whatever is not listed is
    marked removed (items of a vanished space included)."""
    spaces = [s for s in ctx.client.list_spaces() if s.id]
    with transaction.atomic():
        ctx.add(
            reconcile(ServiceformSpace, ctx.account, [space_row(s) for s in spaces])
        )
        ctx.page_done()
    stored = {
        s.external_id: s
        for s in ServiceformSpace.objects.filter(
            account=ctx.account, external_id__in=[s.id for s in spaces]
        ).order_by()
    }
    seen: set[str] = set()
    for space in spaces:
        local = stored.get(space.id)
        if local is None:
            continue
        try:
            items = [i for i in ctx.client.list_items(space.id) if i.id]
        except NotFound:
            # Gone between the two calls: its items are not seen, so removed.
            continue
        # Unknown (§4.4): item ids are taken as unique per account; an id
        # listed in two spaces is kept in the last.
        seen.update(i.id for i in items)
        with transaction.atomic():
            ctx.add(store_items(ctx.account, local, items))
            ctx.page_done()
    ctx.counts.removed += mark_removed(ServiceformItem, ctx.account, seen)
    ctx.page_done()


# --- leads ------------------------------------------------------------------------
def lead_row(lead: Lead) -> dict:
    raw = lead.raw
    values = raw.get("values") or raw.get("answers") or raw.get("fields")
    return {
        "external_id": lead.id,
        "name": _cap(lead.name, 200),
        "first_name": _cap(as_str(raw.get("first_name")), 100),
        "last_name": _cap(as_str(raw.get("last_name")), 100),
        "email": _cap(lead.email, 254),
        "phone": _cap(lead.phone, 64),
        "message": lead.message,
        "source": _cap(lead.source, 100),
        "form_name": _cap(as_str(raw.get("tool_name") or raw.get("form")), 200),
        "form_id": _cap(as_str(raw.get("tid") or raw.get("form_id")), 128),
        "site": _cap(as_str(raw.get("site")), 200),
        "page_url": _cap(lead.page_url, 2000),
        "language": _cap(as_str(raw.get("language") or raw.get("lang")), 16),
        "visitor_uid": _cap(as_str(raw.get("uid")), 128),
        "values": values if isinstance(values, dict) else {},
        "created": lead.created,
        "updated": lead.updated,
        "raw": raw,
    }


def pull_leads(ctx: RunContext) -> None:
    """The whole list (no filter exists), reconciled: unchanged leads are not
    written, leads no longer listed are marked removed."""
    leads = [lead for lead in ctx.client.list_leads() if lead.id]
    with transaction.atomic():
        ctx.add(reconcile(ServiceformLead, ctx.account, [lead_row(x) for x in leads]))
        ctx.page_done()


# --- chats ------------------------------------------------------------------------
def chat_key(c: Chat) -> str:
    return c.id or as_str(c.raw.get("session"))


def _activity(c: Chat) -> datetime | None:
    """The chat's last sign of life: its change, last message or start."""
    stamps = [
        t
        for t in (c.changed, as_time(c.raw.get("lastMessageTime")), c.ended, c.started)
        if t is not None
    ]
    return max(stamps) if stamps else None


def chat_status(c: Chat, now: datetime) -> str:
    """Ended when the payload says so (an `ended` time, a closed status), or
    when the chat has been idle for longer than `idle()`; open otherwise."""
    raw = c.raw
    said = as_str(raw.get("status") or raw.get("state")).lower()
    if said in ("closed", "ended", "finished", "resolved", "archived"):
        return ChatStatus.ENDED
    if as_bool(raw.get("closed")) or as_time(raw.get("ended")) is not None:
        return ChatStatus.ENDED
    last = _activity(c)
    if last is not None and now - last > idle():
        return ChatStatus.ENDED
    return ChatStatus.OPEN


def messages_stamp(c: Chat) -> datetime | None:
    """What the stored messages are compared by: the chat's `changed`, else its
    last message time (a chat with neither is fetched once)."""
    return c.changed or c.ended


def chat_row(c: Chat, now: datetime, *, with_messages: bool) -> dict:
    raw = {k: v for k, v in c.raw.items() if k != "history"}
    status = chat_status(c, now)
    # Derived, not Serviceform's: folded into the fingerprinted payload so that
    # a chat that goes idle (open -> ended) is written.
    raw["_status"] = status
    last_message_at = as_time(c.raw.get("lastMessageTime"))
    ended_at = None
    if status == ChatStatus.ENDED:
        ended_at = as_time(c.raw.get("ended")) or last_message_at or c.ended
    until = ended_at or last_message_at or c.changed
    duration = None
    if c.started and until and until >= c.started:
        duration = int((until - c.started).total_seconds())
    has_flag = "chatbot" in c.raw or "livechat" in c.raw
    count = c.message_count
    if count is None and with_messages:
        count = len(c.messages)
    row = {
        "external_id": _cap(chat_key(c), 255),
        "visitor_uid": _cap(c.uid, 128),
        "session_id": _cap(as_str(c.raw.get("session")), 128),
        "site_id": _cap(as_str(c.raw.get("siteId") or c.raw.get("site_id")), 128),
        "site_name": _cap(c.site, 200),
        "source": _cap(c.source, 100),
        "team": _cap(as_str(c.raw.get("team") or c.raw.get("department")), 100),
        # The schema checked `fullUrl` (safe_url); the `url` fallback it did not.
        "page_url": _cap(
            c.url if c.url and c.url == c.raw.get("fullUrl") else safe_url(c.url),
            2000,
        ),
        "visitor_name": _cap(c.visitor_name, 200),
        "visitor_email": _cap(c.visitor_email, 254),
        "visitor_phone": _cap(c.visitor_phone, 64),
        "agent_external_id": _cap(c.agent_id, 128),
        "agent_name": _cap(c.agent_name, 200),
        "agent_email": _cap(c.agent_email, 254),
        "is_chatbot": c.chatbot if has_flag else None,
        "status": status,
        "started_at": c.started,
        "agent_joined_at": c.agent_joined,
        "ended_at": ended_at,
        "last_message_at": last_message_at,
        "changed_at": c.changed,
        "duration": duration,
        "first_response_seconds": c.first_response_seconds,
        "avg_between_messages": as_int(c.raw.get("avgBetweenMsg")),
        "rating": c.rating,
        "message_count": count or 0,
        "last_message": c.last_message,
        "last_sender": _cap(as_str(c.raw.get("lastSender")), 40),
        "raw": raw,
    }
    if with_messages:
        row["messages_changed_at"] = messages_stamp(c) or now
    return row


def message_ids(cid: str, messages: list[ChatMessage]) -> list[tuple[str, str]]:
    """(external_id, message_id) of each message of chat `cid`, in order.
    Unknown (§4.6): a message without an id is keyed by its position."""
    out = []
    for position, m in enumerate(messages):
        message_id = _cap(m.id or f"#{position}", 128)
        out.append((ServiceformMessage.key(cid, message_id), message_id))
    return out


#: The message columns `write_messages` fills, in this order (the chat last:
#: the rest of a row is built before the chat's primary key is known).
MESSAGE_COLUMNS = (
    "external_id",
    "raw",
    "fingerprint",
    "synced_at",
    "removed_at",
    "account",
    "message_id",
    "position",
    "sender",
    "author",
    "kind",
    "text",
    "sent_at",
    "chat",
)


def _serialised(value) -> bytes:
    # What vendorkit.bulk stores and hashes: sorted keys, so the fingerprint
    # does not depend on the order the vendor sends them in.
    return orjson.dumps(
        value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str
    )


def _message_fields():
    return [ServiceformMessage._meta.get_field(n) for n in MESSAGE_COLUMNS]


def message_stamp(now) -> tuple:
    """(synced_at as stored, the sent_at converter) for `message_values`: the
    database's conversions, looked up once per batch, not per chat."""
    connection = connections[router.db_for_write(ServiceformMessage)]
    convert = converters(_message_fields(), connection)
    to_time = convert[MESSAGE_COLUMNS.index("sent_at")] or (lambda v: v)
    synced = convert[MESSAGE_COLUMNS.index("synced_at")]
    return (synced(now) if synced else now), to_time


def message_values(account_id: int, cid: str, messages: list[ChatMessage], stamp):
    """The rows of chat `cid`'s messages as `write_messages` stores them, each
    without its last column (the chat's primary key): [(external_id, values)].
    `stamp`: `message_stamp(now)`. No database access, so the read-ahead
    thread can build them."""
    synced_at, to_time = stamp
    out = []
    for position, (m, (external_id, message_id)) in enumerate(
        zip(messages, message_ids(cid, messages), strict=True)
    ):
        blob = _serialised(m.raw)
        out.append(
            (
                external_id,
                (
                    external_id,
                    blob.decode(),
                    hashlib.sha1(blob, usedforsecurity=False).hexdigest(),
                    synced_at,
                    None,
                    account_id,
                    message_id,
                    position,
                    m.sender,
                    _cap(m.author, 200),
                    _cap(m.kind, 40),
                    m.text,
                    to_time(m.sent_at) if m.sent_at is not None else None,
                ),
            )
        )
    return out


def write_messages(account, histories: list[tuple[int, list[tuple[str, tuple]]]]):
    """Store the messages of `histories` ([(chat pk, `message_values` of its
    messages)]): one INSERT ... ON CONFLICT for all of them
    (vendorkit.bulk.write_rows: SQLite multi-row VALUES, PostgreSQL COPY), in the
    caller's transaction.

    Only chats whose history was just fetched come here (new, or changed since
    their messages were stored), so each message is written as sent, without a
    read of the stored fingerprints first: a message listed again overwrites
    its row (same key), one no longer listed keeps it (`services.store_chat`
    marks those removed). `raw` is the vendor's message object and
    `fingerprint` its hash, as the bulk upsert stores them."""
    rows: dict[str, tuple] = {}  # a repeated id: the last copy wins
    for chat_pk, values in histories:
        for external_id, partial in values:
            rows[external_id] = (*partial, chat_pk)
    if not rows:
        return 0
    fields = _message_fields()
    connection = connections[router.db_for_write(ServiceformMessage)]
    qn = connection.ops.quote_name
    conflict = (
        f"ON CONFLICT ({qn('account_id')}, {qn('external_id')}) DO UPDATE SET "
        + ", ".join(
            f"{qn(f.column)} = EXCLUDED.{qn(f.column)}"
            for f in fields
            if f.name not in ("account", "external_id")
        )
    )
    values = list(rows.values())
    write_rows(ServiceformMessage, fields, values, conflict, savepoint=False)
    return len(rows)


@dataclass
class Prepared:
    """What `store_chats` writes for one chat listed with its history, built
    ahead (by the read-ahead thread, while the previous group is written): the
    chat as it was parsed, its row with messages, and its `message_values`."""

    chat: Chat
    row: dict
    messages: list[tuple[str, tuple]]


def prepare(account_id: int, chats: list[Chat], now) -> dict[str, Prepared]:
    out = {}
    stamp = message_stamp(now)
    for c in chats:
        key = chat_key(c)
        if key:
            out[key] = Prepared(
                c,
                chat_row(c, now, with_messages=True),
                message_values(account_id, key, c.messages, stamp),
            )
    return out


@dataclass
class PreparedPage(Page):
    prepared: dict[str, Prepared] = field(default_factory=dict)


def _prepared_pages(pages: Iterable[Page], account_id: int, now):
    for page in pages:
        yield PreparedPage(
            page.items, page.cursor, page.total, prepare(account_id, page.items, now)
        )


#: What `store_chats` reads of the chats whose messages it writes.
_KEYED = ("external_id", "id", "messages_changed_at")


def store_chats(
    account,
    chats: list[Chat],
    fetched: dict[str, Chat],
    now,
    prepared: dict[str, Prepared] | None = None,
) -> Counts:
    """Upsert `chats` (a listing) and the messages of the chats in `fetched`
    ({cid: the chat as listed with its history}); returns the chats' counts.
    `prepared`: rows already built for some of them (`prepare`, with the same
    `now`), used for the very chat objects they were built from.
    A fixed number of queries for any number of chats."""
    prepared = prepared or {}
    by_id: dict[str, dict] = {}
    ready: dict[str, list[tuple[str, tuple]]] = {}
    for c in chats:
        key = chat_key(c)
        if not key:
            log.warning("serviceform chat without cid or session skipped")
            continue
        source = fetched.get(key, c)
        built = prepared.get(key)
        if key in fetched and built is not None and built.chat is source:
            by_id[key] = built.row
            ready[key] = built.messages
        else:
            by_id[key] = chat_row(source, now, with_messages=key in fetched)
            ready.pop(key, None)
    # Two writes: a batch's update sets every column any of its rows maps, so
    # rows without messages must not share one with `messages_changed_at`.
    counts = upsert(
        ServiceformChat, account, [r for k, r in by_id.items() if k not in fetched]
    )
    counts += upsert(
        ServiceformChat, account, [r for k, r in by_id.items() if k in fetched]
    )
    wanted = [k for k in fetched if k in by_id]
    if not wanted:
        return counts
    # Their primary keys, and whether their messages were ever stamped: one
    # plain read per 1,000 chats (after the upsert, so written rows are).
    pks: dict[str, int] = {}
    unstamped: list[tuple[int, str]] = []
    fields = [ServiceformChat._meta.get_field(n) for n in _KEYED]
    using = router.db_for_write(ServiceformChat)
    for i in range(0, len(wanted), 1000):
        part = wanted[i : i + 1000]
        where = f"account_id = %s AND external_id IN ({', '.join(['%s'] * len(part))})"
        for row in select_rows(
            ServiceformChat, fields, where, [account.pk, *part], using=using
        ):
            pks[row["external_id"]] = row["id"]
            if row["messages_changed_at"] is None:
                unstamped.append((row["id"], row["external_id"]))
    stamp = message_stamp(now)
    write_messages(
        account,
        [
            (
                pks[cid],
                ready[cid]
                if cid in ready
                else message_values(account.pk, cid, fetched[cid].messages, stamp),
            )
            for cid in wanted
        ],
    )
    # A chat whose payload did not change but whose messages were never stored
    # (fetched now) was not written by the upsert: its stamp is set here.
    for pk, cid in unstamped:
        ServiceformChat.objects.filter(pk=pk).update(
            messages_changed_at=messages_stamp(fetched[cid]) or now
        )
    return counts


def _refetch(ctx: RunContext, chats: list[Chat], stale: set[str]) -> dict[str, Chat]:
    """The stale chats of a listing page again, with their messages: one window
    from the first to the last stale start (usually one request)."""
    timed = [c for c in chats if chat_key(c) in stale and c.started is not None]
    if not timed:
        return {}
    start = min(c.started for c in timed)
    end = max(c.started for c in timed) + timedelta(seconds=1)
    found: dict[str, Chat] = {}
    for page in ctx.client.iter_chats(start, end, limit=CHAT_LIMIT, show_messages=True):
        for c in page.items:
            if chat_key(c) in stale:
                found[chat_key(c)] = c
    return found


def _store_group(ctx: RunContext, group: list[Page], saved, *, listed: bool, now):
    """Store a group of pages and the cursor after the last, in one transaction.
    `listed`: the pages came without messages (the look-back part), so the
    messages of its stale chats are fetched first (outside the transaction)."""
    chats = [c for page in group for c in page.items]
    stale = set(
        ServiceformChat.stale_for_messages(
            ctx.account, {chat_key(c): messages_stamp(c) for c in chats if chat_key(c)}
        )
    )
    if listed:
        fetched = _refetch(ctx, chats, stale) if stale else {}
    else:
        fetched = {chat_key(c): c for c in chats if chat_key(c) in stale}
    prepared = {
        k: v
        for page in group
        if isinstance(page, PreparedPage)
        for k, v in page.prepared.items()
    }
    with transaction.atomic():
        ctx.add(store_chats(ctx.account, chats, fetched, now, prepared))
        ctx.page_done(saved(group[-1].cursor))


def pull_chats(ctx: RunContext) -> None:
    """Chats of [high_water - look-back, now), or of the history on the first
    run, in two passes: the look-back part listed without messages (changed
    chats refetched with them), then the new part with messages. The cursor
    (`run`) records the pass and its page, so a failed run resumes there."""
    now = timezone.now()
    cursor = ctx.cursor
    job = cursor.get("run")
    if not job:
        high = as_time(cursor.get("high_water"))
        until = now.replace(microsecond=(now.microsecond // 1000) * 1000)
        if high is None:  # the backfill
            start = split = until - timedelta(days=history_days())
        else:
            split = min(high, until)
            start = split - lookback()
        job = {
            "start": stamp(start),
            "split": stamp(split),
            "until": stamp(until),
            "pass": "changed" if start < split else "new",
            "page": None,
        }
    start, split, until = (as_time(job[k]) for k in ("start", "split", "until"))

    def saved(pass_name: str):
        def cursor_for(page_cursor: dict) -> dict:
            return {
                "high_water": cursor.get("high_water"),
                "run": {**job, "pass": pass_name, "page": page_cursor},
            }

        return cursor_for

    def walk(pass_name: str, lower: datetime, upper: datetime, resume) -> None:
        pages = ctx.client.iter_chats(
            lower,
            upper,
            limit=CHAT_LIMIT,
            show_messages=pass_name == "new",
            resume=resume,
        )
        group: list[Page] = []
        # The new part is read ahead while a group is stored (up to a whole
        # group: the next one is fetched while this one is written); the
        # look-back part is not (its refetches use the client from this thread).
        if pass_name == "new":
            # Each page's rows are built there too (no database access), so
            # that work overlaps the writing of the previous group.
            pages = prefetch(_prepared_pages(pages, ctx.account.pk, now), COMMIT_PAGES)
        for page in pages:
            group.append(page)
            if len(group) >= COMMIT_PAGES:
                _store_group(
                    ctx, group, saved(pass_name), listed=pass_name == "changed", now=now
                )
                group = []
        if group:
            _store_group(
                ctx, group, saved(pass_name), listed=pass_name == "changed", now=now
            )

    if job["pass"] == "changed":
        walk("changed", start, split, job.get("page"))
        job = {**job, "pass": "new", "page": None}
    walk("new", split, until, job.get("page") if job["pass"] == "new" else None)
    with transaction.atomic():
        _close_forgotten(ctx, start)
        ctx.save_cursor({"high_water": stamp(until)})


def _close_forgotten(ctx: RunContext, before: datetime) -> None:
    """Open chats that started before this run's window are never listed again:
    ended now, at their last known time (else the board shows them live for
    ever). Their fingerprint is cleared so a later sight is written."""
    stale = ServiceformChat.objects.filter(
        account=ctx.account, status=ChatStatus.OPEN, started_at__lt=before
    )
    if stale.exists():
        ctx.counts.updated += update_rows(
            stale,
            ctx.account,
            status=ChatStatus.ENDED,
            ended_at=Coalesce("ended_at", "last_message_at", "started_at"),
            fingerprint="",
        )


# --- statistics -------------------------------------------------------------------
#: Count metrics a day missing from the answer's per-day series has none of.
COUNT_METRICS = ("chats", "chatbot_chats", "human_chats", "messages")


def _day_metrics(stats, day: date) -> dict:
    return dict(stats.days.get(day) or {m: 0 for m in COUNT_METRICS})


def pull_statistics(ctx: RunContext) -> None:
    """The last STAT_DAYS UTC days: one request with a per-day series where
    the answer has one (the sandbox's `days`), else one request per day (the
    documented answer is totals over the window)."""
    today = timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=stat_days() - 1)

    def midnight(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=UTC)

    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    before = dict(
        ServiceformChatStatDay.objects.filter(account=ctx.account, day__gte=first)
        .order_by()
        .values_list("day", "fingerprint")
    )
    stats = ctx.client.chat_statistics(
        midnight(first), midnight(today + timedelta(days=1)), metrics=METRICS
    )
    per_day: dict[date, dict] = {}
    if "days" in stats.raw or "series" in stats.raw:
        # Unknown (§4.6): a day absent from the series is taken as a day
        # without chats (the sandbox lists only days that have some).
        per_day = {d: _day_metrics(stats, d) for d in days}
    else:
        for d in days:
            one = ctx.client.chat_statistics(
                midnight(d), midnight(d + timedelta(days=1)), metrics=METRICS
            )
            per_day[d] = {
                **one.totals,
                **{
                    k: v
                    for k in ("totalChats", "averageResponseTime", "satisfactionScore")
                    if (v := one.raw.get(k)) is not None
                },
            }
    for d, metrics in per_day.items():
        record_stat_day(ctx.account, d, metrics)
    after = dict(
        ServiceformChatStatDay.objects.filter(account=ctx.account, day__gte=first)
        .order_by()
        .values_list("day", "fingerprint")
    )
    for d in days:
        if d not in before:
            ctx.counts.created += 1
        elif before[d] != after.get(d):
            ctx.counts.updated += 1
        else:
            ctx.counts.unchanged += 1
    ctx.page_done()
