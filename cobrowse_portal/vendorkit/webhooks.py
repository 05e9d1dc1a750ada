"""Inbound webhooks, the shared half: the per-account token check (constant time),
size and JSON checks, store-once by the vendor's event id, and hand-off to Celery.

A vendor supplies a `WebhookHandler` subclass that says how to read its envelope,
which columns its values land in (their sizes are checked at intake) and how to
apply its events. Events that each change one row of one model (a session, a
room) subclass `RecordHandler` instead: the vendor writes only the merge of one
event into the row's fields, and vendorkit applies a whole batch of events with a
fixed number of statements.

Text is normalised before anything is stored: lone UTF-16 surrogates (`"\\ud800"`
is valid JSON, but PostgreSQL text and jsonb refuse it) become U+FFFD; NUL is
refused. A value too long for its column is a 400, recorded as an INVALID event,
on every database (SQLite would silently store it, PostgreSQL would fail).
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from django.apps import apps
from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

from cobrowse_portal.core.choices import EventStatus
from cobrowse_portal.core.models import VendorAccount, WebhookEvent

from . import activity, bulk, registry
from .models import index_later

#: Where vendors post an account's events; the token segment is a secret, masked in
#: every log line of every process (registered when the vendorkit app is ready, so
#: also in workers that never load the URLconf).
ROUTE = "hooks/<int:account_id>/<secret:token>/"


def receiver_url(account: VendorAccount, request=None) -> str:
    """The absolute URL of `account`'s receiver (`/hooks/<id>/<token>/`), for a
    vendor to post to: registered as a webhook (Surfly) or sent with each
    request that asks for a callback (Upscope's watch-link `webhook_url`).

    Built on the host the person is using when there is a `request` (the
    address the vendor's sandbox can reach, whatever port the portal runs on),
    else on `SITE_URL` (Celery replays, management commands). The token in it
    is a secret: send it to the vendor, never show it on a page but an
    admin's."""
    if request is not None:
        return request.build_absolute_uri(account.webhook_path)
    return settings.SITE_URL.rstrip("/") + account.webhook_path


class InvalidEvent(ValueError):
    """The body is not an event we can read."""


class WebhookHandler:
    """Vendor hook: identify an event and apply a batch of stored events."""

    known_types: frozenset[str] = frozenset()

    #: Where the payload's text values are stored: dotted payload path ->
    #: "app_label.Model.field". Longer values are refused at intake (400, recorded)
    #: instead of failing (PostgreSQL) or being stored whole (SQLite) later.
    columns: Mapping[str, str] = {}

    def identify(self, payload: Any) -> tuple[str, int | None, str]:
        """Return (vendor event id, ordering sequence, event type)."""
        raise NotImplementedError

    def validate(self, payload: Any) -> None:
        """Refuse values that cannot be stored; raise InvalidEvent. The default
        checks `columns`; a vendor may add its own checks."""
        check_sizes(payload, column_limits(type(self)))

    def apply(self, account: VendorAccount, event: Event) -> None:
        """Apply one stored event (it has `pk`, `sequence`, `event_type` and
        `payload`, as `Event` and `WebhookEvent` both do)."""
        raise NotImplementedError

    def record_key(self, event: Event) -> str:
        """The external id of the row `event` changes: needed by `RecordHandler`
        and by the handler of a vendor that declares `VendorSpec.reconciles`
        (stored with the event at intake, `WebhookEvent.record_key`)."""
        raise NotImplementedError

    def apply_batch(
        self, account: VendorAccount, events: Sequence[Event]
    ) -> dict[int, Exception]:
        """Apply `events` in their order, inside the caller's transaction.
        Returns the events that could not be applied (position in `events` ->
        why); the others are applied. If it raises, the drain rolls the batch
        back and applies its events one at a time with `apply()`. Default:
        `apply()` per event, each in its own savepoint."""
        failed: dict[int, Exception] = {}
        for i, event in enumerate(events):
            try:
                with transaction.atomic():
                    self.apply(account, event)
            except Exception as exc:
                failed[i] = exc
        return failed


class Event(NamedTuple):
    """A stored event as the drain reads it (no model instance)."""

    pk: int | None
    sequence: int | None
    event_type: str
    payload: Any


class StaleRead(Exception):
    """A batch's write found a row its read had not seen (a concurrent write
    stored it meanwhile): the batch is rolled back and applied event by event."""


class RecordHandler(WebhookHandler):
    """Events that each change one row of `model` (a `SyncedModel`, found by its
    external id within the account), applied a batch at a time, with the same
    statements whatever the batch's size:

    - the batch's rows are read in one query (locked: `SELECT ... FOR UPDATE`
      where the database has it), only the `fields` the merge needs;
    - each event is merged in memory, in the batch's (sequence) order, into what
      the stored row and the batch's earlier events made of the record
      (`merge()`, where the vendor keeps the merge rule, `vendorkit.merge`);
    - the rows that end up changed are written in one INSERT ... ON CONFLICT DO
      UPDATE that updates only rows the read found (and locked), so a row a
      concurrent pull inserted meanwhile is never overwritten from a stale
      state: the write then stores fewer rows than it should and raises
      `StaleRead`, and the drain applies the batch again one event at a time;
    - their index rows follow in the same transaction (`deferred_index()`: one
      index write at the drain's commit, or now outside one).

    An event whose `record_key()` or `merge()` raises fails alone; the record
    keeps the state it had before that event. An event that changes nothing
    (`merge()` returns None, or the same fields) writes nothing.
    """

    #: The vendor model the events change.
    model: type[models.Model]
    #: The fields `merge()` reads and returns (all of them, every time); the
    #: write sets these on an existing row and nothing else.
    fields: tuple[str, ...] = ()

    def record_key(self, event: Event) -> str:
        """The external id of the row `event` changes."""
        raise NotImplementedError

    def merge(self, current: dict | None, event: Event) -> dict | None:
        """The record's `fields` after `event`, as a new dict (never change
        `current` in place), or None if the event changes nothing. `current` is
        what the stored row and the batch's earlier events made of them, None
        while there is no row (start from `blank()`)."""
        raise NotImplementedError

    def new_record(self, key: str) -> dict:
        """Values of a row created by an event, besides `fields`."""
        return {}

    def blank(self) -> dict:
        """`fields` as a new row has them (the model's defaults)."""
        meta = self.model._meta
        return {name: meta.get_field(name).get_default() for name in self.fields}

    def apply(self, account, event) -> None:
        failed = self.apply_batch(account, [event])
        if failed:
            raise failed[0]

    def apply_batch(self, account, events):
        failed: dict[int, Exception] = {}
        keyed = []
        for i, event in enumerate(events):
            try:
                keyed.append((i, str(self.record_key(event)), event))
            except Exception as exc:
                failed[i] = exc
        if not keyed:
            return failed
        keys = list(dict.fromkeys(k for _, k, _ in keyed))
        stored = read_records(self.model, account, keys, self.fields)
        before = {k: {f: row[f] for f in self.fields} for k, row in stored.items()}
        state = dict(before)
        for i, key, event in keyed:
            try:
                merged = self.merge(state.get(key), event)
            except Exception as exc:
                failed[i] = exc
                continue
            if merged is not None:
                state[key] = merged
        changed = [k for k, fields in state.items() if fields != before.get(k)]
        if changed:
            records = [
                {
                    **(self.new_record(k) if k not in stored else {}),
                    **state[k],
                    "external_id": k,
                }
                for k in changed
            ]
            locked = [stored[k]["id"] for k in changed if k in stored]
            written = write_records(self.model, account, records, self.fields, locked)
            if written != len(records):
                raise StaleRead(
                    f"{len(records) - written} of {len(records)} rows changed "
                    "since the batch read them"
                )
            index_later(self.model, account, changed)
        return failed


def read_records(model, account, keys: list[str], fields) -> dict[str, dict]:
    """Rows of `model` of `account` by external id: {external_id: {"id", "external_id",
    *fields}}, in one query per 1,000 keys, locked for the transaction where the
    database can (`SELECT ... FOR UPDATE`)."""
    using = router.db_for_write(model)
    meta = model._meta
    columns = [meta.pk, meta.get_field("external_id")]
    columns += [meta.get_field(f) for f in fields]
    lock = " FOR UPDATE" if connections[using].features.has_select_for_update else ""
    return {
        row["external_id"]: row
        for row in activity.rows_by_keys(
            model, account, columns, keys, using=using, suffix=lock
        )
    }


def write_records(model, account, records: list[dict], fields, locked) -> int:
    """Write `records` (dicts of field values with `external_id`; a missing field
    takes the model's default) as rows of `account` in one INSERT ... ON CONFLICT
    (account, external_id) DO UPDATE of `fields`, only where the existing row's id
    is in `locked`. Returns how many rows were inserted or updated."""
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    convert = bulk.converters(columns, connection)
    names = [f.attname for f in columns]
    defaults = [
        (f.name, f.attname, None if f.name == "account" else f.get_default())
        for f in columns
    ]
    at = names.index("account_id")
    values = []
    for record in records:
        get = record.get
        row = [get(name, get(attname, default)) for name, attname, default in defaults]
        row[at] = account.pk
        values.append(
            tuple(c(v) if c else v for v, c in zip(row, convert, strict=True))
        )
    table = qn(model._meta.db_table)
    pk = qn(model._meta.pk.column)
    meta = model._meta
    sets = ", ".join(
        f"{qn(meta.get_field(f).column)} = EXCLUDED.{qn(meta.get_field(f).column)}"
        for f in fields
    )
    ids = ", ".join(str(int(i)) for i in locked)
    only = f"{table}.{pk} IN ({ids})" if ids else "1 = 0"
    conflict = (
        f"ON CONFLICT ({qn('account_id')}, {qn('external_id')}) DO UPDATE SET "
        f"{sets} WHERE {only}"
    )
    return bulk.write_rows(model, columns, values, conflict, savepoint=False)


# --- the drain's statements ------------------------------------------------------
# `core.process_webhook_events` runs for every few events while deliveries arrive:
# its reads and writes of events are plain statements (no query compilation).
class _DrainSQL:
    def __init__(self, connection) -> None:
        qn = connection.ops.quote_name
        event = WebhookEvent._meta
        table = qn(event.db_table)
        col = {n: qn(event.get_field(n).column) for n in ("account", "status", "id")}
        self.postgres = connection.vendor == "postgresql"
        waiting = f"{col['account']} = %s AND {col['status']} = %s"
        self.pending = (
            f"SELECT {col['id']}, {qn('sequence')}, {qn('event_type')}, "
            f"{qn('payload')} FROM {table} WHERE {waiting} "
            f"ORDER BY {qn('sequence')}, {col['id']} LIMIT %s"
        )
        self.any = f"SELECT 1 FROM {table} WHERE {waiting} LIMIT 1"
        self.mark = (
            f"UPDATE {table} SET {col['status']} = %s, {qn('error')} = %s, "
            f"{qn('processed_at')} = %s WHERE {col['id']} "
        )


_drain_sql: dict[str, _DrainSQL] = {}


def _drain():
    connection = connections[router.db_for_write(WebhookEvent)]
    sql = _drain_sql.get(connection.vendor)
    if sql is None:
        sql = _drain_sql[connection.vendor] = _DrainSQL(connection)
    return connection, sql


def pending_events(account_id: int, limit: int) -> list[Event]:
    """The account's received events, in the vendor's sequence order (then
    arrival), at most `limit`, as `Event` tuples."""
    connection, sql = _drain()
    with connection.cursor() as cursor:
        cursor.execute(sql.pending, [account_id, EventStatus.RECEIVED, limit])
        rows = cursor.fetchall()
    return [
        Event(pk, sequence, event_type, _stored_payload(payload))
        for pk, sequence, event_type, payload in rows
    ]


def _stored_payload(value):
    if value is None or not isinstance(value, str | bytes):
        return value
    return parse_json(value.encode() if isinstance(value, str) else value)


def has_pending(account_id: int) -> bool:
    connection, sql = _drain()
    with connection.cursor() as cursor:
        cursor.execute(sql.any, [account_id, EventStatus.RECEIVED])
        return cursor.fetchone() is not None


def mark_events(pks: list[int], status: str, error: str = "") -> None:
    """Set the status (and error) of these events in one UPDATE; processed ones
    get their processing time."""
    if not pks:
        return
    connection, sql = _drain()
    at = timezone.now() if status == EventStatus.PROCESSED else None
    params = [status, error, connection.ops.adapt_datetimefield_value(at)]
    if sql.postgres:
        statement, params = sql.mark + "= ANY(%s)", [*params, list(pks)]
    else:
        statement = sql.mark + f"IN ({', '.join(['%s'] * len(pks))})"
        params += pks
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def token_matches(account: VendorAccount | None, token: str) -> bool:
    return _token_ok(account.webhook_token if account else None, token)


def _token_ok(expected: str | None, token: str) -> bool:
    """Compared whole and in constant time, whether or not the account exists."""
    ok = hmac.compare_digest((expected or "x" * 43).encode(), token.encode())
    return ok and expected is not None


UNKNOWN = "unknown webhook"

#: (vendor, webhook token) of each account as last read from the database: only a
#: hint. A delivery it admits is stored by an INSERT that checks both again in
#: the database, so a changed token or a deleted account counts at once.
_accounts: dict[int, tuple[str, str]] = {}
_ACCOUNTS_MAX = 10_000


def intake(account_id: int, token: str, read_body) -> tuple[int, str]:
    """One delivery to /hooks/<account_id>/<token>/. Returns (HTTP status,
    message); `read_body()` is called only once the token matched.

    The hot path of every vendor's events, answered before the page middleware
    (`core.hooks_middleware`): for an account seen before, two statements on
    plain cursors (no model instance, no query compilation): the INSERT, which
    checks the account and its token itself, and the read of the account's
    "drain queued" flag. The first delivery for an account in a process, or a
    token that does not match the one seen, reads the account first (one
    primary-key read, as for a wrong token).
    """
    seen = _accounts.get(account_id)
    checked = False
    if seen is None or not _token_ok(seen[1], token):
        seen = _read_account(account_id)
        if not _token_ok(seen[1] if seen else None, token):
            return 404, UNKNOWN
        checked = True
    vendor = seen[0]
    try:
        handler = registry.get(vendor).webhooks
    except KeyError:  # the vendor's app is gone
        handler = None
    if handler is None:
        return 404, UNKNOWN
    status, message, _ = _store(
        account_id, vendor, token, handler, read_body(), checked
    )
    return status, message


def receive(account: VendorAccount, body: bytes) -> tuple[int, str, int | None]:
    """Validate and store one delivery for `account`, whose token was checked.
    Returns (HTTP status, message, the stored event's id or None)."""
    handler = account.spec.webhooks
    return _store(
        account.pk, account.vendor, account.webhook_token, handler, body, True
    )


def _store(
    account_id: int,
    vendor: str,
    token: str,
    handler: WebhookHandler,
    body: bytes,
    checked: bool,
) -> tuple[int, str, int | None]:
    """Validate and store one delivery (`checked`: the account and token were
    just read from the database, not taken from `_accounts`)."""
    refused = _refusal(handler, body)
    if isinstance(refused, str):
        if not checked and not _still(account_id, vendor, token):
            return 404, UNKNOWN, None
        return 400, refused, _invalid(account_id, refused, body)
    payload, ext_id, sequence, event_type = refused
    known = event_type in handler.known_types
    event_id, queued = _insert(
        (account_id, vendor, token),
        str(ext_id),
        sequence,
        event_type[:80],
        payload,
        EventStatus.RECEIVED if known else EventStatus.IGNORED,
        "" if known else "unknown event type",
        _record_key(vendor, handler, payload, sequence, event_type) if known else "",
    )
    if event_id is None:
        # Nothing stored: a duplicate (the unique constraint), or the account
        # or its token changed since it was read.
        if not _still(account_id, vendor, token):
            return 404, UNKNOWN, None
        return 200, "duplicate ignored", None
    if known:
        # One queued drain per account, however many deliveries (coalesced).
        # `queued`: the INSERT itself saw the account's "drain queued" flag
        # raised (PostgreSQL, see `_Statements`); then nothing is left to do.
        if not queued:
            transaction.on_commit(lambda: _request_processing(account_id))
        return 202, "accepted", event_id
    return 200, "unknown event type recorded", event_id


def _refusal(handler: WebhookHandler, body: bytes):
    """Why the body cannot be stored (a message), or what it holds:
    (payload, event id, sequence, event type)."""
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return "body too large"
    try:
        # PostgreSQL text and jsonb cannot hold NUL characters.
        if b"\\u0000" in body or b"\x00" in body:
            raise InvalidEvent("NUL characters are not accepted")
        payload = parse_json(body)
        ext_id, sequence, event_type = handler.identify(payload)
        _check_columns(ext_id, sequence)
        handler.validate(payload)
    # RecursionError: nesting too deep; OverflowError: e.g. int(1e999) in a handler.
    except (
        ValueError,
        InvalidEvent,
        TypeError,
        KeyError,
        RecursionError,
        OverflowError,
    ) as exc:
        detail = str(exc) if isinstance(exc, InvalidEvent) else type(exc).__name__
        return f"malformed event: {detail}"[:500]
    return payload, ext_id, sequence, event_type


#: `WebhookEvent.record_key`'s size.
RECORD_KEY_MAX = 200


def _record_key(vendor: str, handler, payload, sequence, event_type: str) -> str:
    """The row a known event changes, kept for reconciliation with the pulls
    (`vendorkit.reconciliation`) when the vendor declares it; else blank. A key the
    handler cannot read is blank too: applying the event reports that."""
    try:
        if registry.get(vendor).reconciles is None:
            return ""
        key = str(handler.record_key(Event(None, sequence, event_type, payload)))
    except Exception:  # noqa: BLE001 - the drain tells what is wrong with it
        return ""
    return key if len(key) <= RECORD_KEY_MAX else ""


def _request_processing(account_id: int) -> None:
    from cobrowse_portal.core.tasks import request_webhook_processing

    request_webhook_processing(account_id)


def _read_account(account_id: int) -> tuple[str, str] | None:
    """(vendor, webhook token) of the account, or None: one primary-key read,
    remembered in `_accounts`."""
    if not 0 < account_id < 2**63:  # no such row (and SQLite could not bind it)
        return None
    connection = connections[router.db_for_read(VendorAccount)]
    row = _fetchone(connection, _statements(connection).account, [account_id])
    if row is None:
        _accounts.pop(account_id, None)
        return None
    if len(_accounts) >= _ACCOUNTS_MAX:
        _accounts.clear()
    _accounts[account_id] = found = (row[0], row[1])
    return found


def _still(account_id: int, vendor: str, token: str) -> bool:
    """Whether the account still exists with this vendor and token (read again)."""
    found = _read_account(account_id)
    return found is not None and found[0] == vendor and _token_ok(found[1], token)


def _insert(
    account: tuple[int, str, str],
    external_id: str,
    sequence: int | None,
    event_type: str,
    payload: Any,
    status: str,
    error: str,
    record_key: str = "",
) -> tuple[int | None, bool]:
    """Store one event with one autocommit INSERT, if the account (id, vendor,
    token) is as given. No BEGIN/COMMIT round trips, and no savepoint inside a
    transaction: ON CONFLICT skips a duplicate instead of raising. Returns the
    new row's id (None if nothing was stored) and whether the same statement
    found the account's "drain queued" flag raised (PostgreSQL only; elsewhere
    always False, and the flag is read after the INSERT)."""
    connection = connections[router.db_for_write(WebhookEvent)]
    statements = _statements(connection)
    now = timezone.now()
    params = [
        external_id,
        sequence,
        event_type,
        _json_param(connection, payload),
        status,
        error,
        connection.ops.adapt_datetimefield_value(now),
        record_key,
        *account,
    ]
    if statements.insert_and_flag is None:
        row = _fetchone(connection, statements.insert, params)
        return (row[0] if row else None), False
    params += [account[0], statements.flag, now]
    stored, queued = _fetchone(connection, statements.insert_and_flag, params)
    return stored, bool(queued)


class _Statements:
    """The intake's SQL for one database vendor, written once from the models."""

    def __init__(self, connection) -> None:
        from cobrowse_portal.core.models import SyncClaim
        from cobrowse_portal.core.tasks import WEBHOOKS_QUEUED

        qn = connection.ops.quote_name
        postgres = connection.vendor == "postgresql"

        def param(field) -> str:
            # Server-side binding (PostgreSQL, `_fetchone`) needs the parameters
            # of a SELECT list typed; text keeps the column's own length check.
            if not postgres:
                return "%s"
            text = field.get_internal_type() in ("CharField", "TextField")
            return f"%s::{'text' if text else field.cast_db_type(connection)}"

        account = VendorAccount._meta
        acc_id, acc_vendor, acc_token = (
            account.get_field(name) for name in ("id", "vendor", "webhook_token")
        )
        acc_table = qn(account.db_table)
        self.account = (
            f"SELECT {qn(acc_vendor.column)}, {qn(acc_token.column)} "
            f"FROM {acc_table} WHERE {qn(acc_id.column)} = {param(acc_id)}"
        )
        event = WebhookEvent._meta

        def col(name: str) -> str:
            return qn(event.get_field(name).column)

        # Every column but the id; the account's comes from the checked row.
        constant = {
            "account": f"{acc_table}.{qn(acc_id.column)}",
            "body_excerpt": "''",
            "processed_at": "NULL",
            "matched_at": "NULL",
        }
        values = {
            f.name: constant.get(f.name) or param(f)
            for f in event.concrete_fields
            if not f.primary_key
        }
        checked = " AND ".join(
            f"{qn(f.column)} = {param(f)}" for f in (acc_id, acc_vendor, acc_token)
        )
        self.insert = (
            f"INSERT INTO {qn(event.db_table)} ({', '.join(map(col, values))}) "
            f"SELECT {', '.join(values.values())} FROM {acc_table} WHERE {checked} "
            f"ON CONFLICT ({col('account')}, {col('external_id')}) DO NOTHING "
            f"RETURNING {col('id')}"
        )
        #: PostgreSQL: the INSERT and the read of the account's "drain queued"
        #: flag in one statement (one round trip instead of two). Reading the
        #: flag in the INSERT's snapshot, before the event is committed, is safe
        #: because the read locks the flag row (FOR KEY SHARE) until the INSERT
        #: commits. A drain lowers the flag (DELETE) and only then reads the
        #: pending events: either its DELETE waits for our commit (and its read
        #: sees our event), or our lock waits for its DELETE and finds the flag
        #: down (and we queue a drain). A flag seen raised is a drain yet to look
        #: for our event, as when the flag is read after the INSERT (elsewhere).
        self.flag = WEBHOOKS_QUEUED
        self.insert_and_flag = None
        if postgres:
            claim = SyncClaim._meta
            flag_row = " AND ".join(
                f"{qn(field.column)} {op} {param(field)}"
                for field, op in (
                    (claim.get_field("account"), "="),
                    (claim.get_field("stream"), "="),
                    (claim.get_field("expires_at"), ">="),
                )
            )
            self.insert_and_flag = (
                f"WITH stored AS ({self.insert}), queued AS (SELECT 1 FROM "
                f"{qn(claim.db_table)} WHERE {flag_row} FOR KEY SHARE) "
                f"SELECT (SELECT {col('id')} FROM stored), "
                f"EXISTS (SELECT 1 FROM queued)"
            )


_by_vendor: dict[str, _Statements] = {}


def _statements(connection) -> _Statements:
    found = _by_vendor.get(connection.vendor)
    if found is None:
        found = _by_vendor[connection.vendor] = _Statements(connection)
    return found


def _fetchone(connection, sql: str, params: list):
    """Run one statement and return its first row (or None).

    On PostgreSQL the statement goes straight to the driver's connection, on a
    server-side binding cursor: the values travel as parameters (the payload's
    JSON is not quoted into the SQL text in Python) and none of Django's
    per-statement cursor wrapping runs. (Prepared only if the database OPTIONS
    set psycopg's `prepare_threshold`; Django's default leaves it off, and
    preparing measured no gain here.) What the wrapping guarantees still holds:
    the connection is opened, or replaced after a failed health check, as for
    any query; errors are Django's and mark the connection for
    `close_if_unusable_or_obsolete`; a broken transaction is refused; and
    `execute_wrapper()`s and the query log (DEBUG, `CaptureQueriesContext`) see
    the statement."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    import psycopg

    def execute(sql, params, many, context):
        with connection.wrap_database_errors:
            cursor = psycopg.Cursor(connection.connection)
            try:
                cursor.execute(sql, params)
                return cursor.fetchone()
            finally:
                cursor.close()

    run = execute
    for wrapper in reversed(connection.execute_wrappers):
        run = functools.partial(wrapper, run)
    if not connection.queries_logged:
        return run(sql, params, False, {"connection": connection, "cursor": None})
    started = time.monotonic()
    try:
        return run(sql, params, False, {"connection": connection, "cursor": None})
    finally:
        took = time.monotonic() - started
        connection.queries_log.append(
            {"sql": connection.ops.compose_sql(sql, params), "time": f"{took:.3f}"}
        )


def _json_param(connection, payload: Any):
    """The payload as the JSON column's parameter, serialised by orjson."""
    try:
        data = orjson.dumps(payload)
    except TypeError:  # an integer beyond 64 bits (kept exact by `parse_json`)
        data = json.dumps(payload, ensure_ascii=False).encode()
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return Jsonb(data, dumps=bytes)  # already serialised
    return data.decode()


def parse_json(body: bytes) -> Any:
    """Decode a JSON body: with orjson where it reads the body faithfully, else
    with the standard parser (UTF-16/32 and byte order marks, lone surrogates,
    which are then replaced, integers beyond 64 bits, which orjson would turn
    into floats). NaN and infinite numbers are refused (ValueError): JSON has
    none, and PostgreSQL's jsonb cannot store them."""
    if _LONG_INTEGER.search(body) is None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # maybe one of the cases above: the standard parser decides
    payload = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
    if _MAYBE_SURROGATE.search(body):
        payload = normalise_text(payload)
    return payload


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


#: Enough digits to leave the range orjson reads as integers (below -2**63 or
#: above 2**64 - 1 it returns a float). Digit runs inside strings match too; the
#: standard parser reads those bodies just as well, only slower.
_LONG_INTEGER = re.compile(rb"[0-9]{19}")


def _check_columns(ext_id, sequence) -> None:
    """The event's id and sequence must fit their columns (user input)."""
    if len(str(ext_id)) > 64:
        raise InvalidEvent("event id longer than 64 characters")
    if sequence is not None and not -(2**63) <= sequence < 2**63:
        raise InvalidEvent("sequence out of range")


# A JSON escape of a surrogate, or one encoded as bytes (json.loads decodes bytes
# with "surrogatepass"): only then can the payload hold a lone surrogate.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` with lone surrogates (unstorable anywhere) replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def normalise_text(payload: Any) -> Any:
    """Clean every string (keys too) of a decoded JSON value, without recursion
    (the parser accepts nesting deeper than Python's stack)."""
    if isinstance(payload, str):
        return clean_text(payload)
    stack = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if isinstance(value, str):
                    value = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
                new_key = clean_text(key) if isinstance(key, str) else key
                if new_key != key:
                    del node[key]
                node[new_key] = value
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    node[i] = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
    return payload


@functools.cache
def column_limits(handler_cls: type[WebhookHandler]) -> dict[str, int]:
    """Payload path -> the max_length of the column it lands in (from the models)."""
    limits = {}
    for where, target in handler_cls.columns.items():
        label, field = target.rsplit(".", 1)
        max_length = apps.get_model(label)._meta.get_field(field).max_length
        if max_length:
            limits[where] = max_length
    return limits


def check_sizes(payload: Any, limits: Mapping[str, int]) -> None:
    """Raise InvalidEvent if a value at one of `limits`' paths is not text (or a
    number) or is longer than its column."""
    for where, limit in limits.items():
        value: Any = payload
        for part in where.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        if isinstance(value, dict | list):
            raise InvalidEvent(f"{where} must be text")
        if len(str(value)) > limit:
            raise InvalidEvent(f"{where} longer than {limit} characters")


def _invalid(account_id: int, reason: str, body: bytes) -> int:
    """Record a refused delivery (status INVALID) with the start of its body."""
    # PostgreSQL text cannot hold NUL characters.
    excerpt = body[:500].decode("utf-8", "replace").replace("\x00", "\ufffd")
    return WebhookEvent.objects.create(
        account_id=account_id,
        status=EventStatus.INVALID,
        error=reason,
        body_excerpt=excerpt,
    ).pk
