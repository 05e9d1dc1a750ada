"""The Activity page's free-text search: the rows whose `search` text contains the
term (a plain substring test, the same on both databases), found through an index
wherever the term allows it.

Both databases index trigrams (three characters in a row). A trigram that is in
most rows (`vis` of `visitor-`, `htt` of `https://`) costs the index a posting
list as long as the table and selects nothing, so the index is asked only for the
term's rarest trigrams, known from a small random sample of the table (refreshed
hourly per process); the substring test then decides.

- SQLite: an FTS5 trigram table over every row (migrations 0012 and 0013, kept
  by triggers; the bulk write adds its batch's new rows in one statement)
  gives candidate ids (those holding the rare trigrams, else the whole term as a
  phrase; none for a term under 3 characters). A term with at most `RARE_SEARCH`
  candidates is read as those ids; a commoner (or shorter) one is checked row by
  row while walking the page's index order, which stops at one page of matches.
- PostgreSQL: the trigram GIN index (migration 0009) is asked `LIKE '%abc%'` for
  each rare trigram and `strpos` (which the index does not serve) checks the
  term; a term without a rare trigram asks the index for the whole term.

Either way the index only narrows the candidates: the substring test decides."""

from __future__ import annotations

import random
import time
from collections import Counter
from contextlib import contextmanager

from django.db import connection, connections, transaction
from django.db.models import Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

from .models import Activity

#: A term matched by at most this many activities (any workspace) is read from the
#: SQLite text index as ids; a commoner one is walked in page order.
RARE_SEARCH = 2000
FTS_TABLE = "core_activity_fts"
#: SQLite: a row here (held by a bulk write's transaction) pauses the insert trigger.
FTS_BATCH = "core_activity_fts_batch"

#: A trigram in more than this share of the sampled rows is not asked of the
#: index; at most `RARE_TRIGRAMS` of the rarest others are.
COMMON_SHARE = 0.02
RARE_TRIGRAMS = 3
#: Rows sampled for trigram frequencies, how long they are kept, and the table
#: size (id span) below which the whole term is asked (cheap there).
SAMPLE_ROWS = 2000
SAMPLE_SECONDS = 3600
SAMPLE_MIN_TABLE = 50_000

#: SQLite's text index and the triggers that keep it (migration 0011 creates
#: them; `ensure_sqlite_index` re-creates them after any migration, since SQLite
#: drops a table's triggers when Django remakes the table to alter it).
SQLITE_INDEX_SQL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(search, "
    "content='core_activity', content_rowid='id', tokenize='trigram')",
    # While the bulk write holds a row here (inside its own transaction only, so
    # no other connection ever sees one), new rows are left to it: it fills the
    # index for its whole batch with one INSERT ... SELECT (`batch_text_index`),
    # about a third of the CPU of one trigger statement per row.
    f"CREATE TABLE IF NOT EXISTS {FTS_BATCH} (id INTEGER PRIMARY KEY)",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON core_activity "
    f"WHEN NOT EXISTS (SELECT 1 FROM {FTS_BATCH}) "
    f"BEGIN INSERT INTO {FTS_TABLE}(rowid, search) VALUES (new.id, new.search); END",
    # External content: the index must be told the old text to forget it.
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON core_activity "
    f"BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search) "
    "VALUES ('delete', old.id, old.search); END",
    # The bulk write's upsert sets `search` on every row it touches; only a
    # changed text costs an index update.
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF search "
    "ON core_activity WHEN old.search IS NOT new.search "
    f"BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search) "
    "VALUES ('delete', old.id, old.search); "
    f"INSERT INTO {FTS_TABLE}(rowid, search) VALUES (new.id, new.search); END",
    # Whatever was written while the index or a trigger was missing.
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]
SQLITE_INDEX_NAMES = {
    FTS_TABLE,
    FTS_BATCH,
    f"{FTS_TABLE}_insert",
    f"{FTS_TABLE}_delete",
    f"{FTS_TABLE}_update",
}


def ensure_sqlite_index(using: str = "default", **kwargs) -> bool:
    """post_migrate: (re)create SQLite's text index and its triggers where any is
    missing, and rebuild it from `core_activity`; True if it did."""
    conn = connections[using]
    if conn.vendor != "sqlite":
        return False
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'trigger')"
        )
        found = dict(cursor.fetchall())
        names = set(found)
        # An insert trigger from before the per-batch fill (no pause clause) would
        # index a bulk write's rows twice: it is replaced.
        stale = FTS_BATCH not in (found.get(f"{FTS_TABLE}_insert") or FTS_BATCH)
        if "core_activity" not in names or (names >= SQLITE_INDEX_NAMES and not stale):
            return False
        if stale:
            cursor.execute(f"DROP TRIGGER {FTS_TABLE}_insert")
        for sql in SQLITE_INDEX_SQL:
            cursor.execute(sql)
    return True


@contextmanager
def batch_text_index(using: str):
    """SQLite: the rows the block inserts into `core_activity` are added to the
    text index together, by one INSERT ... SELECT at its end (the insert trigger
    paused meanwhile), in the block's transaction; updates and deletes still go
    through their triggers. Elsewhere (PostgreSQL's GIN index) it does nothing."""
    conn = connections[using]
    if conn.vendor != "sqlite":
        yield
        return
    qn = conn.ops.quote_name
    table, batch, fts = qn(Activity._meta.db_table), qn(FTS_BATCH), qn(FTS_TABLE)
    with transaction.atomic(using=using, savepoint=False), conn.cursor() as cursor:
        # AUTOINCREMENT: the block's new rows are the ones above today's highest id,
        # which the pausing row holds (three statements per batch in all).
        cursor.execute(
            f"INSERT INTO {batch} (id) SELECT COALESCE(MAX(id), 0) FROM {table}"
        )
        yield
        cursor.execute(
            f"INSERT INTO {fts}(rowid, search) SELECT id, search FROM {table} "
            f"WHERE id > (SELECT MAX(id) FROM {batch})"
        )
        cursor.execute(f"DELETE FROM {batch}")


_sample: dict = {"until": 0.0, "counts": Counter(), "rows": 0}


def text_filter(qs, text: str):
    """`qs` narrowed to rows whose `search` contains `text` (lower-cased,
    whitespace-collapsed by the caller)."""
    grams = rare_trigrams(text)
    if connection.vendor == "sqlite":
        ids = _fts_ids(text, grams)
        if ids is not None and len(ids) <= RARE_SEARCH:
            return qs.filter(pk__in=ids, search__contains=text)
        return qs.filter(search__contains=text)
    if not grams:
        return qs.filter(search__contains=text)
    # LIKE '%abc%' per rare trigram: the GIN index reads only their short lists.
    for gram in grams:
        qs = qs.filter(search__contains=gram)
    return qs.filter(GreaterThan(StrIndex("search", Value(text)), 0))


def _fts_ids(text: str, grams: list[str]) -> list[int] | None:
    """Up to RARE_SEARCH + 1 ids of rows holding every rare trigram of `text`
    (else the whole term, an FTS5 trigram phrase); None for a term under 3
    characters, which the trigram index cannot answer."""
    if len(text) < 3:
        return None
    if grams:
        query = " AND ".join(f'"{g}"' for g in grams)  # letters and digits only
    else:
        query = '"' + text.replace('"', '""') + '"'
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s LIMIT %s",
            [query, RARE_SEARCH + 1],
        )
        return [row[0] for row in cursor.fetchall()]


def rare_trigrams(text: str) -> list[str]:
    """Up to RARE_TRIGRAMS trigrams of `text` made of letters and digits (as
    pg_trgm makes them inside a word; FTS5 indexes every trigram), rarest first,
    each in at most COMMON_SHARE of the sampled rows; [] when there is none or the
    table is too small to need it."""
    counts, rows = _trigram_sample()
    if not rows:
        return []
    grams = {
        word[i : i + 3]
        for word in "".join(c if c.isalnum() else " " for c in text).split()
        for i in range(len(word) - 2)
    }
    rare = sorted(
        (counts.get(g, 0), g) for g in grams if counts.get(g, 0) <= COMMON_SHARE * rows
    )
    return [g for _, g in rare[:RARE_TRIGRAMS]]


def _trigram_sample() -> tuple[Counter, int]:
    """(trigram -> sampled rows holding it, sampled rows), from up to SAMPLE_ROWS
    rows picked at random by id, kept SAMPLE_SECONDS per process."""
    now = time.monotonic()
    if now < _sample["until"]:
        return _sample["counts"], _sample["rows"]
    table = connection.ops.quote_name(Activity._meta.db_table)
    counts, rows = Counter(), 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table}")
        low, high = cursor.fetchone()
        if low is not None and high - low + 1 >= SAMPLE_MIN_TABLE:
            span = range(low, high + 1)
            ids = random.sample(span, min(SAMPLE_ROWS, len(span)))
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(f"SELECT search FROM {table} WHERE id IN ({marks})", ids)
            for (text,) in cursor.fetchall():
                rows += 1
                counts.update({text[i : i + 3] for i in range(len(text) - 2)})
    _sample.update(until=now + SAMPLE_SECONDS, counts=counts, rows=rows)
    return counts, rows


def reset_sample() -> None:
    """Forget the trigram sample (tests; a table just filled)."""
    _sample.update(until=0.0, counts=Counter(), rows=0)
