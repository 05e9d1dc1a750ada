"""Bulk upsert and reconcile: local rows follow vendor rows with a fixed number of
queries per batch (one read of existing fingerprints, one INSERT ... ON CONFLICT),
never one query per row."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import orjson
from django.db import connections, models, router, transaction
from django.utils import timezone

from . import activity, reconciliation
from .errors import NotFound

BATCH = 1000


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed
        return self


def fingerprint(raw: object) -> str:
    """A stable hash of a vendor payload (key order does not matter)."""
    return hashlib.sha1(_dumps(raw).encode(), usedforsecurity=False).hexdigest()


def upsert(
    model: type[models.Model], account, rows: Iterable[dict], *, batch: int = BATCH
) -> Counts:
    """Create or update `model` rows of `account` from dicts of field values.

    Each dict holds `external_id`, `raw` and the mapped fields. Rows whose payload
    fingerprint is unchanged are not written; a row that was marked removed and
    comes back is restored. A model may define `after_upsert(account, rows)`: it is
    called with each batch of written rows (carrying their primary key where
    the write returned it), in the write's transaction, to keep its own side
    tables in step. For a model the registry names as an activity or
    agent source, the control room's index follows each batch in that transaction.
    """
    counts = Counts()
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            counts += _upsert_chunk(model, account, chunk)
            chunk = []
    if chunk:
        counts += _upsert_chunk(model, account, chunk)
    return counts


def _upsert_chunk(model, account, rows: list[dict]) -> Counts:
    # The vendor may repeat a row within one answer; the last copy wins.
    by_id = {str(r["external_id"]): r for r in rows}
    existing: dict[str, str] = {}
    removed: set[str] = set()
    for ext_id, fp, is_removed in _fingerprints(model, account, list(by_id)):
        existing[ext_id] = fp
        if is_removed:
            removed.add(ext_id)
    counts, changed = Counts(), []
    for ext_id, row in by_id.items():
        # Serialise the payload once: its hash is the fingerprint and the same
        # text is what gets stored.
        raw = _dumps_bytes(row.get("raw"))
        fp = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        blob = raw.decode()
        if ext_id in existing and existing[ext_id] == fp and ext_id not in removed:
            counts.unchanged += 1
            continue
        if ext_id in existing:
            counts.updated += 1
        else:
            counts.created += 1
        changed.append(
            {**row, "external_id": ext_id, "raw": _Serialised(blob), "fingerprint": fp}
        )
    # A pull that webhooks also cover matches their events in the batch's
    # transaction (vendorkit.reconciliation); None for every other model and caller.
    watch = reconciliation.watcher(model)
    if not changed and watch is None:
        return counts
    hook = getattr(model, "after_upsert", None)
    indexed = activity.has_sources(model)
    if hook is None and not indexed and watch is None:
        _write(model, account, changed)
        return counts
    # Side tables derived from the rows (the model's own, e.g. SameSurf's
    # recordings; the control room's index: activities, their tags, the agent
    # directory, rollups) are written in the same transaction: a failure in any
    # of them stores none of the batch. One savepoint for the batch; the writes
    # inside take none.
    with transaction.atomic(using=router.db_for_write(model)):
        if watch is not None:
            watch(account, by_id, changed)
            if not changed:
                return counts
        # The rows' primary keys come back from the write itself (where the
        # database returns rows): the hook and (SQLite) the index need not read
        # them. PostgreSQL's index reads them anyway, in the one probe per key
        # that also finds the activities they replace (activity.written_rows):
        # reading those apart by an IN list cost its backfill more than the
        # keys saved (Upscope, 40,000 sessions: 31% of raw against 36%).
        ids: dict[str, int] | None = None
        if hook is not None or (
            indexed and connections[router.db_for_write(model)].vendor == "sqlite"
        ):
            ids = {}
        _write(model, account, changed, savepoint=False, ids=ids)
        if ids:
            pk = model._meta.pk.attname
            for row in changed:
                row[pk] = ids[row["external_id"]]
        if hook is not None:
            hook(account, changed)
        if indexed:
            # The index maps the batch's own dicts (what was just written),
            # instead of reading the rows back.
            # A batch of only new rows (as its fingerprint read found them) is
            # indexed without reading back what the write set itself. Another
            # writer inserting one of these keys between that read and this write
            # would have its other columns indexed as defaults until the row's
            # next write; no two streams write one key with different columns.
            activity.index_rows(model, account, written=changed, inserted=not existing)
    return counts


class _Serialised(str):
    """JSON text that is stored as is (already serialised for the fingerprint)."""


def _dumps_bytes(value: object) -> bytes:
    # orjson: several times faster than json.dumps on large vendor payloads.
    return orjson.dumps(
        value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str
    )


def _dumps(value: object) -> str:
    return _dumps_bytes(value).decode()


def _fingerprints(model, account, ids: list[str]):
    """(external_id, fingerprint, removed?) of existing rows, in one plain query
    (the ORM's per-parameter work on a 1,000-id IN list costs more than the query)."""
    connection = connections[router.db_for_read(model)]
    qn = connection.ops.quote_name
    sql = (
        f"SELECT {qn('external_id')}, {qn('fingerprint')}, "
        f"{qn('removed_at')} IS NOT NULL FROM {qn(model._meta.db_table)} "
        f"WHERE {qn('account_id')} = %s AND {qn('external_id')} IN "
        f"({', '.join(['%s'] * len(ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk, *ids])
        return cursor.fetchall()


def _sqlite_datetime(value):
    # What Django's SQLite backend stores (naive UTC text), minus its overhead.
    if value is None:
        return None
    tz = value.tzinfo
    if tz is None:
        return value.isoformat(" ")
    if tz is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ")[:-6]  # without its "+00:00"


def _converter(field, connection):
    """A fast value -> database value function for one field."""
    if isinstance(field, models.JSONField):
        return lambda v: v if isinstance(v, _Serialised) or v is None else _dumps(v)
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "sqlite":
            return _sqlite_datetime
        adapt = connection.ops.adapt_datetimefield_value
        return lambda v: adapt(v) if v is not None else None
    if isinstance(field, models.DateField):
        return lambda v: connection.ops.adapt_datefield_value(v)
    return None  # str, int, bool, foreign key ids: passed through


def _write(
    model,
    account,
    rows: list[dict],
    *,
    savepoint: bool = True,
    ids: dict[str, int] | None = None,
) -> None:
    """One INSERT ... ON CONFLICT DO UPDATE per batch (SQLite: multi-row VALUES;
    PostgreSQL: COPY into a temporary table first).

    Bypasses model instances: at history sizes their construction costs more than
    the database write. Only the fields the vendor sent (plus bookkeeping) are
    overwritten on conflict, so local-only fields keep their value. `ids`: see
    `write_rows`.
    """
    connection = connections[router.db_for_write(model)]
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    mapped = {k for r in rows for k in r}
    qn = connection.ops.quote_name
    update = [
        f
        for f in fields
        if f.name not in ("account", "external_id")
        and (f.name in mapped or f.name in ("synced_at", "removed_at"))
    ]
    convert = converters(fields, connection)
    names = [f.name for f in fields]
    # The bookkeeping columns are the same for every row: converted once.
    same = {"account": account.pk, "synced_at": now, "removed_at": None}
    fixed = [
        (i, convert[i](same[n]) if convert[i] else same[n])
        for i, n in enumerate(names)
        if n in same
    ]
    pinned = {i for i, _ in fixed}
    convert = [(i, c) for i, c in enumerate(convert) if c and i not in pinned]
    spec = [(f.name, f.get_default()) for f in fields]
    values = []
    for row in rows:
        get = row.get
        value = [get(n, d) for n, d in spec]
        for i, v in fixed:
            value[i] = v
        for i, c in convert:
            value[i] = c(value[i])
        values.append(value)
    conflict = (
        f"ON CONFLICT ({qn('account_id')}, {qn('external_id')}) DO UPDATE SET "
        + ", ".join(f"{qn(f.column)} = EXCLUDED.{qn(f.column)}" for f in update)
    )
    write_rows(model, fields, values, conflict, savepoint=savepoint, ids=ids)


def converters(fields, connection) -> list:
    """Per field, a fast value -> database value function (or None: as is)."""
    return [_converter(f, connection) for f in fields]


#: PostgreSQL: below this many rows one multi-row INSERT ... VALUES costs less than
#: staging them with COPY (four statements: create, truncate, copy, insert).
COPY_MIN_ROWS = 10


def write_rows(
    model,
    fields,
    values: list[tuple],
    conflict: str = "",
    *,
    savepoint: bool = True,
    ids: dict[str, int] | None = None,
) -> int:
    """INSERT `values` (tuples of database values, one per field of `fields`) into
    `model`'s table, followed by `conflict` (an ON CONFLICT clause or ""): SQLite
    multi-row VALUES (`sqlite_insert`); PostgreSQL COPY into a temporary table,
    then one INSERT ... SELECT (small batches: one multi-row INSERT ... VALUES).
    Used for vendor rows and for the index derived from them. `savepoint=False`
    inside a caller's transaction: no savepoint of its own (the caller's rolls
    back all). Returns the rows inserted or updated (the database's count).

    `ids` (a dict; `model` has an `external_id`): filled with external_id ->
    primary key of every row written, returned by the statement itself
    (RETURNING) where the database can (SQLite 3.35+, PostgreSQL); left
    untouched where it cannot, so a caller needing the keys reads them back.
    """
    if not values:
        return 0
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    columns = ", ".join(qn(f.column) for f in fields)
    returned: list | None = None
    if ids is not None and connection.features.can_return_rows_from_bulk_insert:
        returned = []
        conflict += f" RETURNING {qn('external_id')}, {qn(model._meta.pk.column)}"
    with (
        transaction.atomic(using=connection.alias, savepoint=savepoint),
        connection.cursor() as cursor,
    ):
        if connection.vendor == "postgresql" and len(values) < COPY_MIN_ROWS:
            # On the driver's cursor, as the COPY path below (which needs it).
            row = "(" + ", ".join(_pg_placeholder(f) for f in fields) + ")"
            cursor.cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "
                + ", ".join([row] * len(values))
                + " "
                + conflict,
                [v for r in values for v in r],
            )
            written = cursor.cursor.rowcount
            if returned is not None:
                returned = cursor.cursor.fetchall()
            _analyze_if_never(cursor.cursor, connection.alias, model._meta.db_table)
        elif connection.vendor == "postgresql":
            # COPY into a temporary table, then one INSERT ... SELECT: far fewer
            # round trips and less per-row parsing than a batched INSERT.
            pg = cursor.cursor
            stage = qn(f"stage_{model._meta.db_table}")
            # An outer transaction may hold the stage of an earlier batch.
            pg.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
                f"SELECT {columns} FROM {table} WITH NO DATA"
            )
            pg.execute(f"TRUNCATE {stage}")
            with pg.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            pg.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} "
                + conflict
            )
            written = pg.rowcount
            if returned is not None:
                returned = pg.fetchall()
            _analyze_if_never(pg, connection.alias, model._meta.db_table)
        else:
            written = sqlite_insert(
                cursor,
                f"INSERT INTO {table} ({columns})",
                values,
                conflict,
                returned=returned,
            )
    if returned is not None:
        ids.update(returned)
    return written


def sqlite_insert(
    cursor, head: str, values: list, tail: str = "", *, returned: list | None = None
) -> int:
    """SQLite: `head` ("INSERT INTO t (a, b)") VALUES `values` (tuples of one
    width) `tail` as multi-row statements, as many rows each as SQLite's
    parameter limit allows (32,766: 1,000 rows of up to 32 columns); returns
    the rows written. `returned` (a list; `tail` ends in RETURNING ...): what
    the statements return, appended.

    Not executemany: it steps the statement once per row, releasing the GIL
    for each row's few microseconds and taking it back after. Any other thread
    of the process running Python meanwhile (the page-fetching thread parsing
    the next page) then holds the GIL until the interpreter's switch interval
    (5 ms) forces it off, once per row: the write waits on the fetch, row by
    row, and the two never overlap (measured: 1,000 rows beside a busy thread,
    5 ms a row instead of 30 us). One statement for the batch binds every value
    at once (in C) and runs all its rows in one step without the GIL, so the
    fetching thread works meanwhile. The statement is compiled once per row
    count (sqlite3's statement cache keeps it; a full batch repeats)."""
    if not values:
        return 0
    width = len(values[0])
    per = max(1, _sqlite_params(cursor) // width)
    written = 0
    for start in range(0, len(values), per):
        chunk = values[start : start + per]
        rows = _execute_rows(
            cursor,
            head,
            tail,
            width,
            len(chunk),
            [v for r in chunk for v in r],
            returning=returned is not None,
        )
        if returned is not None:
            returned += rows
            written += len(rows)
        else:
            written += cursor.rowcount
    return written


#: sqlite_insert's statements by (head, tail, width, rows): Django's text (%s)
#: and the driver's (?).
_statements: dict[tuple, tuple[str, str]] = {}


def _execute_rows(
    cursor, head: str, tail: str, width: int, rows: int, params, *, returning=False
):
    """Execute `head` VALUES (`rows` tuples of `width`) `tail`; with `returning`,
    return the rows it returns (a RETURNING clause's).

    Django's SQLite cursor turns every %s of a statement into ? with a regex on
    each call: 2 ms for a 1,000-row statement of 23 columns, as much as a tenth
    of the batch's write. Where nothing watches the connection's statements (no
    query log, no execute wrapper: production and the benchmarks), the ? text,
    built once, goes to the driver directly, with Django's error translation
    and broken-transaction check; otherwise (DEBUG, tests that count queries)
    through Django's cursor like any statement."""
    key = (head, tail, width, rows)
    texts = _statements.get(key)
    if texts is None:
        if len(_statements) > 256:  # a few shapes per model: never grows far
            _statements.clear()
        row = "(" + ", ".join(["%s"] * width) + ")"
        text = f"{head} VALUES {', '.join([row] * rows)} {tail}"
        texts = _statements[key] = (text, text.replace("%s", "?"))
    db = cursor.db
    if db.queries_logged or db.execute_wrappers or "%" in head + tail:
        cursor.execute(texts[0], params)
        return cursor.fetchall() if returning else None
    import sqlite3

    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        sqlite3.Cursor.execute(cursor.cursor, texts[1], params)
        return cursor.cursor.fetchall() if returning else None


def _sqlite_params(cursor) -> int:
    """The most parameters one statement of this SQLite connection may bind
    (SQLITE_LIMIT_VARIABLE_NUMBER: 32,766 since SQLite 3.32, 999 before)."""
    import sqlite3

    return cursor.db.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


#: (database alias, table) whose planner statistics this process has seen exist.
_analyzed: set[tuple[str, str]] = set()


def _analyze_if_never(pg, alias: str, table: str) -> None:
    """ANALYZE a table PostgreSQL has never analyzed, once, right after a batch
    was written into it (in the batch's transaction, which ANALYZE counts).

    Without statistics the planner takes a fresh table for empty and probes the
    batch's 1,000 keys through whichever index on `account_id` is smallest,
    filtering the account's rows for each key: a first backfill then slows with
    every page (measured: 0.07 ms a key after 500 rows, 0.36 ms after 2,500)
    until autovacuum's first analyze, up to a minute later. Once statistics
    exist, stale ones do no harm (the planner scales them to the table's size);
    autovacuum keeps them. One catalog read per table and process."""
    if (alias, table) in _analyzed:
        return
    pg.execute("SELECT reltuples < 0 FROM pg_class WHERE oid = %s::regclass", [table])
    row = pg.fetchone()
    if row and row[0]:
        pg.execute(f'ANALYZE "{table}"')
    _analyzed.add((alias, table))


def _pg_placeholder(field) -> str:
    # JSON arrives serialised (text): PostgreSQL casts it where COPY would parse it.
    return "%s::jsonb" if isinstance(field, models.JSONField) else "%s"


def mark_removed(
    model, account, seen_ids: set[str], *, scope: dict | None = None
) -> int:
    """Soft-delete rows of a full listing that the vendor no longer returns.

    `scope` (filter keywords) limits what the listing covers: a listing of one
    parent's children (Smartsupp: one account's users) must not mark the rows
    of the account's other parents removed."""
    # No ORDER BY from the model's default ordering: a set needs none, and
    # sorting a scoped read (one parent's rows) would walk another index.
    active = set(
        model.objects.filter(account=account, removed_at__isnull=True, **(scope or {}))
        .order_by()
        .values_list("external_id", flat=True)
    )
    gone = list(active - {str(i) for i in seen_ids})
    now = timezone.now()
    indexed = activity.has_sources(model)
    with transaction.atomic(using=router.db_for_write(model)):
        for i in range(0, len(gone), BATCH):
            ids = gone[i : i + BATCH]
            model.objects.filter(account=account, external_id__in=ids).update(
                removed_at=now
            )
            if indexed:  # their activities and directory rows are removed too
                activity.index_rows(model, account, ids)
    return len(gone)


def delete_remote(row: models.Model, call: Callable[[], Any], *, gone: str) -> Any:
    """Delete an object at the vendor with `call()`, then mark the local row removed.

    A 404 means the vendor no longer has it: the row is marked removed all the
    same (deleting is idempotent) and `gone` is returned instead of the answer.
    """
    try:
        answer = call()
    except NotFound:
        answer = gone
    model = type(row)
    with transaction.atomic(using=router.db_for_write(model)):
        model.objects.filter(pk=row.pk).update(removed_at=timezone.now())
        if activity.has_sources(model):
            activity.index_rows(model, row.account, [row.external_id])
    return answer


def reconcile(
    model, account, rows: Iterable[dict], *, scope: dict | None = None
) -> Counts:
    """Apply a full listing: upsert every row, mark the missing ones removed
    (only among the rows `scope` selects, when the listing covers part of the
    account: see `mark_removed`)."""
    rows = list(rows)
    counts = upsert(model, account, rows)
    counts.removed = mark_removed(
        model, account, {str(r["external_id"]) for r in rows}, scope=scope
    )
    return counts
