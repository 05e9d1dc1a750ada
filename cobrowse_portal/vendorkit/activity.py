"""The control room's write path: vendor rows feed the activity index
(`core.Activity`, `core.ActivityTag`), the agent directory (`core.VendorAgent`,
matched to `core.AgentIdentity` by e-mail) and the daily usage rollups
(`core.UsageDay`, `core.UsageDayAgent`).

A vendor declares in the registry which of its models feed what
(`ActivitySource`, `AgentSource`); vendorkit calls `index_rows()` for every batch it
writes (bulk upsert, reconcile's removals, `SyncedModel.save()` for webhooks and
edits), inside the transaction of the vendor write, without savepoints of its own.
Each batch costs a constant number of statements, whatever its size. Bulk upsert
hands over the dicts it just wrote, so the stored vendor rows are not read back:
one read of their ids joined with the index rows they replace, one directory
lookup, one INSERT ... ON CONFLICT for the index, one delete and one insert of
changed tags, and a few for the rollups (skipped where nothing moved). Other
callers (ids only: webhooks, removals, the rebuild) read the stored rows first.

Rollups are incremental: each Activity keeps what it contributes (`counted_day`,
`counted_seconds`, and its `agent_external_id`), so a write adds only the
difference, to the old day and the new one. `rebuild()` recomputes everything from
the vendor tables (`manage.py rebuild_activity`).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext
from copy import copy
from datetime import UTC, date, datetime, timedelta

import orjson
from django.apps import apps
from django.db import connections, models, router, transaction
from django.utils import timezone

from cobrowse_portal.core import pagecache, search, urlcache

from . import bulk, registry

#: Vendor columns the index never reads (payload, change detection).
SKIP_FIELDS = ("raw", "fingerprint")


def has_sources(model: type[models.Model]) -> bool:
    return bool(registry.sources_for(model._meta.label_lower))


def _core(name: str) -> type[models.Model]:
    return apps.get_model("core", name)


# --- reading the stored vendor rows ---------------------------------------------------
def _vendor_fields(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in SKIP_FIELDS]


def _select(model, fields, where: str, params: list, *, using: str):
    """Rows of `model` as dicts of `fields` (attname keys, Python values), from one
    plain SQL query converted like the ORM would (cheaper than a 1,000-id ORM IN)."""
    alias = model._meta.db_table
    qn = connections[using].ops.quote_name
    return _select_columns(
        [(alias, f, f.attname) for f in fields],
        f"{qn(alias)} WHERE {where}",
        params,
        using=using,
    )


#: For vendor code that reads many rows by key (e.g. a page's 1,000 room numbers).
select_rows = _select


def rows_by_keys(
    model,
    account,
    fields,
    keys: list,
    *,
    using: str,
    column: str = "external_id",
    suffix: str = "",
):
    """The rows of `account` whose `column` is one of `keys`, as `_select` dicts
    of `fields`: one plain query per 1,000 keys (the ORM's work per value of a
    1,000-key IN list costs more than the query), no ORDER BY (SQLite would
    serve a model's default ordering by walking an ordered index over all the
    account's rows, not the key). `suffix`: e.g. " FOR UPDATE"."""
    qn = connections[using].ops.quote_name
    for i in range(0, len(keys), bulk.BATCH):
        part = keys[i : i + bulk.BATCH]
        yield from _select(
            model,
            fields,
            f"account_id = %s AND {qn(column)} IN ({_in(len(part))})" + suffix,
            [account.pk, *part],
            using=using,
        )


def _select_columns(
    columns, from_where: str, params: list, *, using: str, unconverted=()
):
    """`SELECT <columns> FROM <from_where>`: `columns` are (table alias, field,
    key); rows come back as dicts of key -> Python value (converted as the ORM
    would, NULL stays None; keys in `unconverted` as the driver returns them)."""
    connection = connections[using]
    qn = connection.ops.quote_name
    convs = []
    for i, (alias, f, key) in enumerate(columns):
        if key in unconverted:
            continue
        col = f.get_col(alias)
        found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
        if found:
            convs.append((i, col, found))
    keys = [key for _a, _f, key in columns]
    select = ", ".join(f"{qn(a)}.{qn(f.column)}" for a, f, _k in columns)
    out = []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {from_where}", params)
        for values in cursor.fetchall():
            if convs:
                values = list(values)
                for i, col, found in convs:
                    value = values[i]
                    if value is None:  # NULL is None whatever the field
                        continue  # (a new row's LEFT JOINed index columns)
                    for c in found:
                        value = c(value, col, connection)
                    values[i] = value
            out.append(dict(zip(keys, values, strict=True)))
    return out


def _in(n: int) -> str:
    return ", ".join(["%s"] * n)


def stored_rows(model, account, external_ids: list[str], *, using: str) -> list[dict]:
    return _select(
        model,
        _vendor_fields(model),
        f"account_id = %s AND external_id IN ({_in(len(external_ids))})",
        [account.pk, *external_ids],
        using=using,
    )


# --- the entry points -----------------------------------------------------------------
#: What write_activities needs of the index rows a batch replaces.
_OLD_FIELDS = (
    "id",
    "external_id",
    "counted_day",
    "counted_seconds",
    "agent_external_id",
    "tags",
)


def written_rows(
    model,
    account,
    written: list[dict],
    *,
    using: str,
    kind: str | None = None,
    inserted: bool = False,
) -> tuple[list[dict], dict[str, dict] | None]:
    """The rows bulk upsert just wrote, as `stored_rows` would read them back, from
    the batch's own dicts: only their primary keys (and any column a dict did not
    carry, which kept its stored value) are read, in one query, which also reads
    (with `kind`: a LEFT JOIN) the activities of that kind they replace.

    `inserted`: every row was new (none was stored when the batch read its
    fingerprints, in the write's transaction), so the columns a dict did not carry
    hold their defaults, as bulk._write inserted them: only the keys are read (a
    backfill's batches; no decoding of columns the write itself set), and not
    even those where every dict carries its primary key (returned by the
    write: bulk.write_rows' `ids`; SQLite); the activities they replace (in a
    backfill none) are then left to write_activities to read, from the index
    alone.

    Returns (rows, old activities by external_id, or None: without `kind`, or
    when the keys were returned)."""
    Activity = _core("Activity")
    fields = _vendor_fields(model)
    carried = set(written[0]).intersection(*written[1:]) if written else set()
    fixed = {"id", "account", "account_id", "synced_at", "removed_at"}
    missing = [
        f for f in fields if f.name not in fixed and not {f.name, f.attname} & carried
    ]
    defaults: list[tuple[str, object]] = []
    if inserted:
        defaults = [(f.attname, f.get_default()) for f in missing]
        missing = []
    qn = connections[using].ops.quote_name
    table = model._meta.db_table
    columns = [
        (table, f, f.attname)
        for f in (model._meta.get_field("external_id"), model._meta.pk, *missing)
    ]
    act = Activity._meta.db_table
    if kind is not None:
        columns += [(act, Activity._meta.get_field(n), f"old_{n}") for n in _OLD_FIELDS]
    postgres = connections[using].vendor == "postgresql"
    # Keys returned by the write: each dict is its own stored row (SQLite; see
    # bulk._upsert_chunk for PostgreSQL's).
    returned = (
        inserted and not postgres and all(model._meta.pk.attname in r for r in written)
    )
    ids = [] if returned else [r["external_id"] for r in written]
    stored: dict[str, dict] = {}
    for i in range(0, len(ids), bulk.BATCH):
        part = ids[i : i + bulk.BATCH]
        if postgres:
            # One index probe per key, whatever the planner's statistics say (on
            # fresh tables it otherwise picks a nested loop over the account's rows).
            def probe(name, where):
                cols = ", ".join(qn(f.column) for a, f, _ in columns if a == name)
                return (
                    f"(SELECT {cols} FROM {qn(name)} WHERE {where} "
                    f"AND external_id = k.ext LIMIT 1) AS {qn(name)}"
                )

            from_where = "unnest(%s::text[]) AS k(ext) CROSS JOIN LATERAL " + probe(
                table, "account_id = %s"
            )
            params = [part, account.pk]
            if kind is not None:
                from_where += (
                    " LEFT JOIN LATERAL "
                    + probe(act, "account_id = %s AND kind = %s")
                    + " ON true"
                )
                params += [account.pk, kind]
        else:
            from_where = qn(table)
            params = []
            if kind is not None:
                from_where += (
                    f" LEFT JOIN {qn(act)} ON {qn(act)}.account_id = "
                    f"{qn(table)}.account_id AND {qn(act)}.kind = %s AND "
                    f"{qn(act)}.external_id = {qn(table)}.external_id"
                )
                params.append(kind)
            from_where += (
                f" WHERE {qn(table)}.account_id = %s AND "
                f"{qn(table)}.external_id IN ({_in(len(part))})"
            )
            params += [account.pk, *part]
        for r in _select_columns(
            columns, from_where, params, using=using, unconverted=("old_tags",)
        ):
            stored[r["external_id"]] = r
    old: dict[str, dict] | None = {} if kind is not None and not returned else None
    # What the write stored for the bookkeeping columns (see bulk._write).
    names = {f.name: f.attname for f in fields} | {f.attname: f.attname for f in fields}
    stored_keys = [c[2] for c in columns if not c[2].startswith("old_")]
    plans: dict[tuple, list[tuple[str, str]]] = {}  # a batch's rows share keys
    out = []
    for row in written:
        extra = row if returned else stored.get(row["external_id"])
        if extra is None:
            continue
        shape = tuple(row)
        plan = plans.get(shape)
        if plan is None:
            plan = plans[shape] = [
                (k, names[k]) for k in shape if k in names and k not in fixed
            ]
        record = {a: row[k] for k, a in plan}
        for key in stored_keys:
            record[key] = extra[key]
        for key, default in defaults:  # a dict or list default: one per row
            record[key] = copy(default) if isinstance(default, dict | list) else default
        record["account_id"] = account.pk
        record["removed_at"] = None
        out.append(record)
        if old is not None and extra["old_id"] is not None:  # (not `returned`)
            old[str(row["external_id"])] = {n: extra[f"old_{n}"] for n in _OLD_FIELDS}
    return out, old


def index_rows(
    model,
    account,
    external_ids: Iterable[str] | None = None,
    *,
    rows: list[dict] | None = None,
    written: list[dict] | None = None,
    rollups: bool = True,
    force: bool = False,
    inserted: bool = False,
) -> None:
    """Bring the index in step with these rows of `model` as stored now (read from
    the database, so partial upserts and removals are seen as they are), or with
    `rows` (dicts as `stored_rows` returns them) when the caller already read them,
    or with `written` (bulk upsert's batch: dicts of field values just written).

    `rollups=False` leaves UsageDay alone (the rebuild recounts it afterwards);
    `force` rewrites the tag rows even where the tags look unchanged; `inserted`
    (with `written`): every row was new (see `written_rows`)."""
    sources = registry.sources_for(model._meta.label_lower)
    if not sources:
        return
    using = router.db_for_write(model)
    old = None
    if written is not None:
        kinds = [s.kind for _, s in sources if isinstance(s, registry.ActivitySource)]
        rows, old = written_rows(
            model,
            account,
            written,
            using=using,
            kind=kinds[0] if len(kinds) == 1 else None,
            inserted=inserted,
        )
    if rows is None:
        ids = list(dict.fromkeys(str(i) for i in external_ids or ()))
        if not ids:
            return
        rows = []
        for i in range(0, len(ids), bulk.BATCH):
            rows += stored_rows(model, account, ids[i : i + bulk.BATCH], using=using)
    if not rows:
        return
    # The caller's transaction (the vendor write's) holds it: no savepoint.
    with transaction.atomic(using=using, savepoint=False):
        for spec, source in sources:
            if isinstance(source, registry.ActivitySource):
                write_activities(
                    spec,
                    source,
                    account,
                    rows,
                    using,
                    rollups=rollups,
                    force=force,
                    old=old,
                )
            else:
                write_agents(spec, source, account, rows, using)
        # The control room's kept pages of this workspace are stale from this
        # commit on (core.pagecache): in the same transaction as the rows.
        pagecache.bump_account(account, using=using)
        _mark_changed(account, using)


#: `VendorAccount.data_changed_at` is moved at most this often (one UPDATE a
#: minute per account, not one per batch).
CHANGED_RESOLUTION = timedelta(minutes=1)


#: (database alias, account id) -> when this process last moved the column.
_marked: dict[tuple[str, int], datetime] = {}


def _mark_changed(account, using: str) -> None:
    """Record when the account's activities changed (the "no new data" alert):
    no statement when this process did it less than a minute ago (a rolled-back
    batch may leave the column a minute behind)."""
    VendorAccount = _core("VendorAccount")
    now = timezone.now()
    key = (using, int(getattr(account, "pk", account)))
    last = _marked.get(key)
    if last is not None and now - last < CHANGED_RESOLUTION:
        return
    _marked[key] = now
    connection = connections[using]
    qn = connection.ops.quote_name
    convert = bulk.converters(
        [VendorAccount._meta.get_field("data_changed_at")], connection
    )[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(VendorAccount._meta.db_table)} SET data_changed_at = %s "
            "WHERE id = %s AND (data_changed_at IS NULL OR data_changed_at < %s)",
            [
                convert(now),
                getattr(account, "pk", account),
                convert(now - CHANGED_RESOLUTION),
            ],
        )


def update_rows(queryset, account, **changes) -> int:
    """`queryset.update(**changes)` on vendor rows of `account`, and the index
    brought in step, in one transaction (for writes that bypass upsert/save)."""
    model = queryset.model
    using = router.db_for_write(model)
    with transaction.atomic(using=using):
        ids = list(queryset.values_list("external_id", flat=True))
        count = (
            model.objects.using(using)
            .filter(account_id=account.pk, external_id__in=ids)
            .update(**changes)
        )
        for i in range(0, len(ids), bulk.BATCH):
            index_rows(model, account, ids[i : i + bulk.BATCH])
    return count


def forget_rows(model, account, external_ids: Iterable[str]) -> None:
    """A vendor row was deleted outright: drop what it fed (and its rollup share)."""
    sources = registry.sources_for(model._meta.label_lower)
    ids = [str(i) for i in external_ids]
    if not sources or not ids:
        return
    rows = [{"external_id": i, "removed_at": timezone.now(), "id": None} for i in ids]
    using = router.db_for_write(model)
    with transaction.atomic(using=using):
        for spec, source in sources:
            if isinstance(source, registry.ActivitySource):
                write_activities(spec, source, account, rows, using, gone=True)
        for _spec, source in sources:
            if isinstance(source, registry.ActivitySource):
                _core("Activity").objects.using(using).filter(
                    account_id=account.pk, kind=source.kind, external_id__in=ids
                ).delete()
            else:
                _core("VendorAgent").objects.using(using).filter(
                    account_id=account.pk, external_id__in=ids
                ).delete()
        pagecache.bump_account(account, using=using)


# --- activities -----------------------------------------------------------------------
def _zone(account) -> zoneinfo.ZoneInfo:
    name = getattr(account, "_usage_zone", None)
    if name is None:
        name = account.workspace.time_zone or "UTC"
        account._usage_zone = name
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def usage_day(started_at: datetime | None, zone) -> date | None:
    """The day an activity counts on: its start, in the workspace's time zone."""
    if started_at is None:
        return None
    if timezone.is_naive(started_at):
        started_at = started_at.replace(tzinfo=UTC)
    return started_at.astimezone(zone).date()


def _limits(model) -> dict[str, int]:
    return {
        f.name: f.max_length
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField) and f.max_length
    }


def _text(value, limit: int) -> str:
    if value is None:
        return ""
    return str(value)[:limit]


def _tags(tags) -> list[str]:
    """Tags as the index keeps them: strings, each once (case-insensitively), in
    order, at most 100 characters (the tag table's width)."""
    if not isinstance(tags, (list, tuple)):
        return []
    seen: dict[str, str] = {}
    for tag in tags:
        if isinstance(tag, str) and tag.strip():
            tag = tag.strip()[:100]
            seen.setdefault(tag.lower(), tag)
    return list(seen.values())


def _json(value):
    if isinstance(value, (str, bytes)):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


_ACTIVITY_KEYS = ("account", "kind", "external_id")

#: The index row's columns, in the order `write_activities` builds them.
_ROW = (
    "workspace_id",
    "account_id",
    "vendor",
    "kind",
    "external_id",
    "status",
    "started_at",
    "ended_at",
    "duration",
    "agent_id",
    "agent_external_id",
    "agent_name",
    "visitor",
    "url",
    "title",
    "tags",
    "link",
    "search",
    "counted_day",
    "counted_seconds",
    "updated_at",
    "removed_at",
)


def _row_fields(Activity) -> list[models.Field]:
    fields = [Activity._meta.get_field(n) for n in _ROW]
    # Every column but the key is written: a new one must be added above.
    assert {f.attname for f in fields} == {
        f.attname for f in Activity._meta.concrete_fields if not f.primary_key
    }
    return fields


def write_activities(
    spec,
    source,
    account,
    rows: list[dict],
    using: str,
    *,
    rollups: bool = True,
    force: bool = False,
    gone: bool = False,
    old: dict[str, dict] | None = None,
) -> None:
    """Index `rows` as activities of `source`; `old`: the index rows they replace
    (as `_OLD_FIELDS`, by external_id) when the caller already read them."""
    Activity = _core("Activity")
    ActivityTag = _core("ActivityTag")
    connection = connections[using]
    qn = connection.ops.quote_name
    limits = _limits(Activity)
    zone = _zone(account)
    now = timezone.now()
    mapper = source.map_func

    # What the index holds now for these rows: their share of the rollups.
    if old is None:
        ids = [str(r["external_id"]) for r in rows]
        old = {
            r["external_id"]: r
            for r in _select(
                Activity,
                [Activity._meta.get_field(n) for n in _OLD_FIELDS],
                f"account_id = %s AND kind = %s AND external_id IN ({_in(len(ids))})",
                [account.pk, source.kind, *ids],
                using=using,
            )
        }
    if gone:  # the vendor rows were deleted: take back their share
        _apply_rollups(account, spec, old, {e: None for e in old}, using, now)
        return

    # Links are formatted per row: the URLconf is read once for the batch.
    with urlcache.held():
        mapped = [
            (str(row["external_id"]), mapper(account, row) or {}, row.get("removed_at"))
            for row in rows
        ]

    # The directory entry of each agent the batch names: one lookup.
    agent_ids = {
        _text(v.get("agent_external_id"), limits["agent_external_id"])
        for _, v, _ in mapped
    } - {""}
    directory: dict[str, tuple[int | None, str]] = {}
    if agent_ids:
        VendorAgent = _core("VendorAgent")
        for r in _select(
            VendorAgent,
            [
                VendorAgent._meta.get_field(n)
                for n in ("external_id", "identity", "name")
            ],
            f"account_id = %s AND external_id IN ({_in(len(agent_ids))})",
            [account.pk, *agent_ids],
            using=using,
        ):
            directory[r["external_id"]] = (r["identity_id"], r["name"])

    # Rows are built as tuples in `_ROW` order, converted only where a column
    # needs it (times, JSON, the day): no dict or model instance per row.
    fields = _row_fields(Activity)
    converters = bulk.converters(fields, connection)
    at = _ROW.index("updated_at")
    stamp = converters[at](now) if converters[at] else now  # the same for all
    convert = [(i, c) for i, c in enumerate(converters) if c and i != at]
    workspace_id, account_id, slug, kind = (
        account.workspace_id,
        account.pk,
        spec.slug,
        source.kind,
    )
    l_agent_ext, l_agent_name = limits["agent_external_id"], limits["agent_name"]
    l_visitor, l_url, l_title = limits["visitor"], limits["url"], limits["title"]
    l_link, l_ext = limits["link"], limits["external_id"]
    no_agent = (None, "")
    values_out = []
    contributions: dict[str, tuple[date, int, str] | None] = {}
    new_tags: dict[str, list[str]] = {}
    for ext, v, removed_at in mapped:
        get = v.get
        agent_ext = _text(get("agent_external_id"), l_agent_ext)
        identity, dir_name = directory.get(agent_ext, no_agent)
        agent_name = _text(get("agent_name") or dir_name, l_agent_name)
        tags = _tags(get("tags"))
        started_at = get("started_at")
        duration = get("duration")
        if duration is not None:
            duration = max(0, int(duration))
        visitor = _text(get("visitor"), l_visitor)
        url = _text(get("url"), l_url)
        title = _text(get("title"), l_title)
        if removed_at is None and started_at is not None:
            share = (usage_day(started_at, zone), duration or 0, agent_ext)
        else:
            share = None
        contributions[ext] = share
        new_tags[ext] = tags
        row = [
            workspace_id,
            account_id,
            slug,
            kind,
            _text(ext, l_ext),
            get("status") or "ended",
            started_at,
            get("ended_at"),
            duration,
            identity,
            agent_ext,
            agent_name,
            visitor,
            url,
            title,
            tags,
            _text(get("link"), l_link),
            " ".join(filter(None, [agent_name, visitor, url, title, *tags])).lower(),
            share[0] if share else None,
            share[1] if share else 0,
            stamp,
            removed_at,
        ]
        for i, c in convert:
            row[i] = c(row[i])
        values_out.append(tuple(row))
    update = [f for f in fields if f.name not in _ACTIVITY_KEYS]
    conflict = "ON CONFLICT (account_id, kind, external_id) DO UPDATE SET " + ", ".join(
        f"{qn(f.column)} = EXCLUDED.{qn(f.column)}" for f in update
    )
    # SQLite's text index takes the batch's new rows in one statement (a batch
    # that only updates leaves it to the update trigger).
    fresh = any(ext not in old for ext, _v, _r in mapped)
    with search.batch_text_index(using) if fresh else nullcontext():
        bulk.write_rows(Activity, fields, values_out, conflict, savepoint=False)

    # Tag rows: only where the tags changed (or the activity is new).
    changed = [
        ext
        for ext, tags in new_tags.items()
        if force
        or ext not in old
        or [t.lower() for t in _tags(_json(old[ext]["tags"]))]
        != [t.lower() for t in tags]
    ]
    if changed:
        known = [old[e]["id"] for e in changed if e in old]
        if known:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {qn(ActivityTag._meta.db_table)} WHERE "
                    f"activity_id IN ({_in(len(known))})",
                    known,
                )
        limit = limits["external_id"]
        insert_tags(
            account,
            source.kind,
            list(
                dict.fromkeys(
                    (_text(e, limit), t.lower()) for e in changed for t in new_tags[e]
                )
            ),
            using=using,
            known={_text(e, limit): old[e]["id"] for e in changed if e in old},
        )

    if rollups:
        _apply_rollups(account, spec, old, contributions, using, now)


def insert_tags(
    account,
    kind: str,
    tags: list[tuple[str, str]],
    *,
    using: str,
    known: dict[str, int] | None = None,
):
    """ActivityTag rows for (activity external_id, tag) pairs of `kind`: one
    statement that finds each activity by its key (PostgreSQL: INSERT ... SELECT
    from two arrays, unnested); SQLite: one read of the ids not in `known`
    (external_id -> activity id), one multi-row INSERT."""
    if not tags:
        return
    Activity, ActivityTag = _core("Activity"), _core("ActivityTag")
    connection = connections[using]
    qn = connection.ops.quote_name
    act, tag = qn(Activity._meta.db_table), qn(ActivityTag._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {tag} (workspace_id, activity_id, tag) "
                f"SELECT %s, a.id, t.tag FROM unnest(%s::text[], %s::text[]) "
                f"AS t(ext, tag) JOIN {act} a ON a.account_id = %s "
                f"AND a.kind = %s AND a.external_id = t.ext",
                [
                    account.workspace_id,
                    [e for e, _ in tags],
                    [t for _, t in tags],
                    account.pk,
                    kind,
                ],
            )
        else:
            # SQLite: an executemany of INSERT ... SELECT costs more than reading
            # the ids (one plain query, no conversions) and inserting values.
            pks = dict(known or {})
            exts = list(dict.fromkeys(e for e, _ in tags if e not in pks))
            if exts:
                cursor.execute(
                    f"SELECT external_id, id FROM {act} WHERE account_id = %s "
                    f"AND kind = %s AND external_id IN ({_in(len(exts))})",
                    [account.pk, kind, *exts],
                )
                pks.update(cursor.fetchall())
            bulk.sqlite_insert(  # one statement, not a step per row
                cursor,
                f"INSERT INTO {tag} (workspace_id, activity_id, tag)",
                [(account.workspace_id, pks[e], t) for e, t in tags if e in pks],
            )


def _apply_rollups(account, spec, old: dict, new: dict, using: str, now) -> None:
    """Add to UsageDay / UsageDayAgent the difference between what these
    activities contributed (`old`: their index rows before the write) and what they
    contribute now (`new`: external_id -> (day, seconds, agent key) or None)."""
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    agents: dict[tuple[date, str], int] = defaultdict(int)
    for ext, share in new.items():
        before = old.get(ext)
        if before is not None and before["counted_day"] is not None:
            d = before["counted_day"]
            prev = (d, before["counted_seconds"], before["agent_external_id"])
        else:
            prev = None
        if prev == share:
            continue
        if prev is not None:
            days[prev[0]][0] -= 1
            days[prev[0]][1] -= prev[1]
            if prev[2]:
                agents[(prev[0], prev[2])] -= 1
        if share is not None:
            days[share[0]][0] += 1
            days[share[0]][1] += share[1]
            if share[2]:
                agents[(share[0], share[2])] += 1
    agents = {k: n for k, n in agents.items() if n}
    touched = sorted(set(days) | {d for d, _ in agents})
    if not touched:
        return
    UsageDay, UsageDayAgent = _core("UsageDay"), _core("UsageDayAgent")
    connection = connections[using]
    qn = connection.ops.quote_name
    adapt = connection.ops.adapt_datefield_value
    usage, per_agent = qn(UsageDay._meta.db_table), qn(UsageDayAgent._meta.db_table)
    with connection.cursor() as cursor:
        # Make sure each day has a row, then add the differences (an INSERT's
        # row must satisfy the columns' checks even when it turns into an update,
        # and a difference may be negative).
        cursor.executemany(
            f"INSERT INTO {usage} (workspace_id, account_id, vendor, day, activities, "
            "seconds, agents, figures) VALUES (%s, %s, %s, %s, 0, 0, 0, '{}') "
            "ON CONFLICT (account_id, day) DO NOTHING",
            [(account.workspace_id, account.pk, spec.slug, adapt(d)) for d in touched],
        )
        moved = [(n, secs, account.pk, adapt(d)) for d, (n, secs) in days.items()]
        if moved:
            cursor.executemany(
                f"UPDATE {usage} SET activities = activities + %s, "
                "seconds = seconds + %s WHERE account_id = %s AND day = %s",
                moved,
            )
        if not agents:
            return
        add = (
            f"ON CONFLICT (account_id, day, agent_key) "
            f"DO UPDATE SET activities = {per_agent}.activities "
            f"+ EXCLUDED.activities"
        )
        if connection.vendor == "postgresql":
            # One statement (an executemany is a round trip per row there).
            cursor.execute(
                f"INSERT INTO {per_agent} (account_id, day, agent_key, activities) "
                f"SELECT %s, t.d, t.k, t.n FROM unnest(%s::date[], %s::text[], "
                f"%s::int[]) AS t(d, k, n) " + add,
                [
                    account.pk,
                    [d for d, _ in agents],
                    [key for _, key in agents],
                    list(agents.values()),
                ],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {per_agent} (account_id, day, "
                f"agent_key, activities) VALUES (%s, %s, %s, %s) " + add,
                [(account.pk, adapt(d), key, n) for (d, key), n in agents.items()],
            )
        agent_days = sorted({adapt(d) for d, _ in agents})
        if any(n < 0 for n in agents.values()):  # only a decrease can empty a row
            cursor.execute(
                f"DELETE FROM {per_agent} WHERE account_id = %s AND "
                f"activities <= 0 AND day IN ({_in(len(agent_days))})",
                [account.pk, *agent_days],
            )
        _recount_agents(cursor, qn, account.pk, agent_days)


def _recount_agents(cursor, qn, account_id: int, days: list | None) -> None:
    """UsageDay.agents = the UsageDayAgent rows of that (account, day)."""
    UsageDay, UsageDayAgent = _core("UsageDay"), _core("UsageDayAgent")
    usage, per_agent = qn(UsageDay._meta.db_table), qn(UsageDayAgent._meta.db_table)
    where = "account_id = %s"
    params: list = [account_id]
    if days is not None:
        where += f" AND day IN ({_in(len(days))})"
        params += days
    cursor.execute(
        f"UPDATE {usage} SET agents = (SELECT COUNT(*) FROM {per_agent} a "
        f"WHERE a.account_id = {usage}.account_id "
        f"AND a.day = {usage}.day) WHERE {where}",
        params,
    )


def record_vendor_usage(account, day: date, figures: dict) -> None:
    """Store the vendor's own usage figures of one day (visitors, chats, ratings…),
    merged into what that day already has; the index's counts are left alone."""
    UsageDay = _core("UsageDay")
    using = router.db_for_write(UsageDay)
    with transaction.atomic(using=using):
        row, _ = (
            UsageDay.objects.using(using)
            .select_for_update()
            .get_or_create(
                account_id=account.pk,
                day=day,
                defaults={
                    "workspace_id": account.workspace_id,
                    "vendor": account.vendor,
                },
            )
        )
        row.figures = {**(row.figures or {}), **figures}
        row.save(update_fields=["figures"])
        pagecache.bump_account(account, using=using)


# --- the agent directory --------------------------------------------------------------
def normalise_email(email) -> str:
    return (email or "").strip().lower() if isinstance(email, str) else ""


def write_agents(spec, source, account, rows: list[dict], using: str) -> None:
    VendorAgent = _core("VendorAgent")
    connection = connections[using]
    qn = connection.ops.quote_name
    limits = _limits(VendorAgent)
    now = timezone.now()
    mapper = source.map_func
    ids = [_text(r["external_id"], limits["external_id"]) for r in rows]
    old = {
        r["external_id"]: r
        for r in _select(
            VendorAgent,
            [
                VendorAgent._meta.get_field(n)
                for n in ("external_id", "identity", "linked_by_hand", "name")
            ],
            f"account_id = %s AND external_id IN ({_in(len(ids))})",
            [account.pk, *ids],
            using=using,
        )
    }
    mapped = []
    for ext, row in zip(ids, rows, strict=True):
        v = mapper(account, row) or {}
        mapped.append((ext, v, row.get("removed_at")))
    identities = match_identities(
        account.workspace_id,
        {
            normalise_email(v.get("email")): _text(v.get("name"), 200)
            for _, v, removed in mapped
            if removed is None
        },
        using=using,
        create=True,
    )
    # Removed rows keep matching an existing person (never create one for them).
    identities.update(
        match_identities(
            account.workspace_id,
            {
                normalise_email(v.get("email")): ""
                for _, v, removed in mapped
                if removed is not None
            },
            using=using,
            create=False,
        )
    )
    fields = [f for f in VendorAgent._meta.concrete_fields if not f.primary_key]
    convert = bulk.converters(fields, connection)
    names = [f.attname for f in fields]
    values, follow, renamed = [], [], []
    for ext, v, removed_at in mapped:
        identity = identities.get(normalise_email(v.get("email")))
        before = old.get(ext)
        if before is None or (
            not before["linked_by_hand"] and before["identity_id"] != identity
        ):
            follow.append(ext)
        if before is None or before["name"] != _text(v.get("name"), limits["name"]):
            renamed.append(ext)
        record = {
            "workspace_id": account.workspace_id,
            "account_id": account.pk,
            "vendor": spec.slug,
            "external_id": ext,
            "identity_id": identity,
            "linked_by_hand": False,
            "name": _text(v.get("name"), limits["name"]),
            "email": _text(v.get("email"), limits["email"]).strip(),
            "role": _text(v.get("role"), limits["role"]),
            "available": v.get("available"),
            "free": v.get("free"),
            "last_activity_at": v.get("last_activity_at"),
            "synced_at": now,
            "removed_at": removed_at,
        }
        values.append(
            tuple(
                c(record[n]) if c else record[n]
                for n, c in zip(names, convert, strict=True)
            )
        )
    table = qn(VendorAgent._meta.db_table)
    sets = []
    for f in fields:
        if f.name in ("account", "external_id", "linked_by_hand"):
            continue
        if f.name == "identity":
            # A manager's own link (or unlink) is left alone.
            sets.append(
                f"{qn(f.column)} = CASE WHEN {table}.linked_by_hand "
                f"THEN {table}.{qn(f.column)} ELSE EXCLUDED.{qn(f.column)} END"
            )
        else:
            sets.append(f"{qn(f.column)} = EXCLUDED.{qn(f.column)}")
    bulk.write_rows(
        VendorAgent,
        fields,
        values,
        "ON CONFLICT (account_id, external_id) DO UPDATE SET " + ", ".join(sets),
        savepoint=False,
    )
    if follow:
        follow_agents(account.pk, follow, using=using)
    if renamed:
        refresh_agent_names(spec, account, renamed, using=using)


def refresh_agent_names(spec, account, agent_external_ids, *, using: str) -> None:
    """Activities that take the agent's name from the directory are indexed again
    (name, search text) when the agent's entry appears or is renamed: in batches,
    through the same path, so the cost stays bounded per batch."""
    Activity = _core("Activity")
    for source in spec.activities:
        if not source.agent_name_from_directory:
            continue
        model = apps.get_model(source.model)
        ids = (
            Activity.objects.using(using)
            .filter(
                account_id=account.pk,
                kind=source.kind,
                agent_external_id__in=list(agent_external_ids),
            )
            .values_list("external_id", flat=True)
            .iterator(chunk_size=bulk.BATCH)
        )
        chunk: list[str] = []
        for ext in ids:
            chunk.append(ext)
            if len(chunk) >= bulk.BATCH:
                index_rows(model, account, chunk)
                chunk = []
        if chunk:
            index_rows(model, account, chunk)


def match_identities(
    workspace_id: int, names_by_email: dict[str, str], *, using: str, create: bool
) -> dict[str, int]:
    """normalised e-mail -> AgentIdentity id in this workspace, in bulk (creating
    the missing ones when `create`)."""
    AgentIdentity = _core("AgentIdentity")
    emails = [e for e in names_by_email if e]
    if not emails:
        return {}
    manager = AgentIdentity.objects.using(using)
    found = dict(
        manager.filter(workspace_id=workspace_id, email__in=emails).values_list(
            "email", "pk"
        )
    )
    missing = [e for e in emails if e not in found]
    if missing and create:
        manager.bulk_create(
            [
                AgentIdentity(
                    workspace_id=workspace_id, email=e, name=names_by_email[e]
                )
                for e in missing
            ],
            ignore_conflicts=True,
        )
        found.update(
            manager.filter(workspace_id=workspace_id, email__in=missing).values_list(
                "email", "pk"
            )
        )
    return found


def follow_agents(account_id: int, agent_external_ids: list[str], *, using: str):
    """The activities of these vendor agents take their directory entry's identity
    (one UPDATE per batch, through the (agent_external_id, account) index)."""
    Activity, VendorAgent = _core("Activity"), _core("VendorAgent")
    connection = connections[using]
    qn = connection.ops.quote_name
    act, va = qn(Activity._meta.db_table), qn(VendorAgent._meta.db_table)
    with connection.cursor() as cursor:
        for i in range(0, len(agent_external_ids), bulk.BATCH):
            ids = agent_external_ids[i : i + bulk.BATCH]
            cursor.execute(
                f"UPDATE {act} SET agent_id = (SELECT v.identity_id "
                f"FROM {va} v WHERE v.account_id = {act}.account_id "
                f"AND v.external_id = {act}.agent_external_id) "
                f"WHERE account_id = %s AND agent_external_id "
                f"IN ({_in(len(ids))})",
                [account_id, *ids],
            )
    pagecache.bump_account(account_id, using=using)


# --- the rebuild ----------------------------------------------------------------------
def rebuild(account, *, chunk_size: int = 1000) -> dict[str, int]:
    """Recompute the account's Activity / ActivityTag / VendorAgent rows from its
    vendor tables, then its UsageDay / UsageDayAgent from Activity.

    One transaction per account; vendor rows are read in chunks (bounded memory)
    and written through the same path as a sync. Index rows whose vendor row no
    longer exists are deleted. A manager's own directory links are kept."""
    spec = registry._registry.get(account.vendor)
    counts = {"activities": 0, "agents": 0, "deleted": 0}
    if spec is None:
        return counts
    Activity, VendorAgent = _core("Activity"), _core("VendorAgent")
    UsageDay, UsageDayAgent = _core("UsageDay"), _core("UsageDayAgent")
    using = router.db_for_write(Activity)
    # Agents first: activities take their identity and name from the directory.
    ordered = [(s.model, "agents") for s in spec.agents] + [
        (s.model, "activities") for s in spec.activities
    ]
    with transaction.atomic(using=using):
        UsageDayAgent.objects.using(using).filter(account_id=account.pk).delete()
        UsageDay.objects.using(using).filter(account_id=account.pk).update(
            activities=0, seconds=0, agents=0
        )
        done: set[str] = set()
        for label, what in ordered:
            model = apps.get_model(label)
            names = [f.attname for f in _vendor_fields(model)]
            rows = (
                model.objects.using(using)
                .filter(account_id=account.pk)
                .order_by("pk")
                .values(*names)
                .iterator(chunk_size=chunk_size)
            )
            chunk: list[dict] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= chunk_size:
                    counts[what] += _rebuild_chunk(model, account, chunk, done)
                    chunk = []
            if chunk:
                counts[what] += _rebuild_chunk(model, account, chunk, done)
            done.add(model._meta.label_lower)
            table = model.objects.using(using).filter(account_id=account.pk)
            if what == "activities":
                kind = next(s.kind for s in spec.activities if s.model == label)
                stale = Activity.objects.using(using).filter(
                    account_id=account.pk, kind=kind
                )
            else:
                stale = VendorAgent.objects.using(using).filter(account_id=account.pk)
            counts["deleted"] += (
                stale.exclude(external_id__in=table.values("external_id"))
                .delete()[1]
                .get(stale.model._meta.label, 0)
            )
        kinds = [s.kind for s in spec.activities]
        counts["deleted"] += (
            Activity.objects.using(using)
            .filter(account_id=account.pk)
            .exclude(kind__in=kinds)
            .delete()[1]
            .get(Activity._meta.label, 0)
        )
        if not spec.agents:
            VendorAgent.objects.using(using).filter(account_id=account.pk).delete()
        recount_usage(account, using=using)
    return counts


def _rebuild_chunk(model, account, rows: list[dict], done: set[str]) -> int:
    if model._meta.label_lower in done:
        return 0  # the model feeds both: already written with the first source
    index_rows(model, account, rows=rows, rollups=False, force=True)
    return len(rows)


def recount_usage(account, *, using: str) -> None:
    """UsageDay / UsageDayAgent of the account from what its activities count
    (`counted_day`, `counted_seconds`, `agent_external_id`): grouped in SQL."""
    Activity = _core("Activity")
    UsageDay, UsageDayAgent = _core("UsageDay"), _core("UsageDayAgent")
    connection = connections[using]
    qn = connection.ops.quote_name
    act = qn(Activity._meta.db_table)
    usage, per_agent = qn(UsageDay._meta.db_table), qn(UsageDayAgent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {per_agent} WHERE account_id = %s", [account.pk])
        cursor.execute(
            f"INSERT INTO {per_agent} (account_id, day, "
            f"agent_key, activities) "
            f"SELECT account_id, counted_day, "
            f"agent_external_id, COUNT(*) FROM {act} "
            f"WHERE account_id = %s AND counted_day IS NOT NULL "
            f"AND agent_external_id <> '' "
            f"GROUP BY account_id, counted_day, agent_external_id",
            [account.pk],
        )
        cursor.execute(
            f"UPDATE {usage} SET activities = 0, seconds = 0 WHERE account_id = %s",
            [account.pk],
        )
        cursor.execute(
            f"INSERT INTO {usage} (workspace_id, account_id, "
            f"vendor, day, activities, seconds, "
            f"agents, figures) "
            f"SELECT %s, account_id, %s, counted_day, COUNT(*), "
            f"SUM(counted_seconds), 0, '{{}}' FROM {act} "
            f"WHERE account_id = %s AND counted_day IS NOT NULL "
            f"GROUP BY account_id, counted_day "
            f"ON CONFLICT (account_id, day) DO UPDATE SET "
            f"activities = EXCLUDED.activities, "
            f"seconds = EXCLUDED.seconds",
            [account.workspace_id, account.vendor, account.pk],
        )
        _recount_agents(cursor, qn, account.pk, None)
    pagecache.bump_account(account, using=using)
