"""The Activity page's free-text search: the rows whose `search` text contains the
term (a plain substring test, the same on both databases), found through an index
wherever the term allows it.

- SQLite: an FTS5 trigram table over every row (migration 0011, kept by triggers)
  gives the candidate ids of a term of 3+ characters; a term matched by at most
  `RARE_SEARCH` rows is read as those ids and checked with the substring test. A
  commoner (or shorter) term is checked row by row while walking the page's index
  order, which stops at one page of matches.
- PostgreSQL: the trigram GIN index (migration 0009). A term's trigrams that are
  in most rows (`visitor-`, `https://`) cost the index a long posting list each
  and select nothing, so the index is asked only for the term's rarest trigrams
  (known from a small sample of the table, refreshed hourly); the whole term is
  then checked with `strpos`, which the index does not serve. A term without a
  rare trigram asks the index for the whole term, as before.

Either way the index only narrows the candidates: the substring test decides."""

from __future__ import annotations

import time

from django.db import connection
from django.db.models import Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

from .models import Activity

#: A term matched by at most this many activities (any workspace) is read from the
#: SQLite text index as ids; a commoner one is walked in page order.
RARE_SEARCH = 2000
FTS_TABLE = "core_activity_fts"

#: PostgreSQL: a trigram in more than this share of the sampled rows is not asked
#: of the index; at most `RARE_TRIGRAMS` of the rarest others are.
COMMON_SHARE = 0.02
RARE_TRIGRAMS = 3
#: Rows sampled for trigram frequencies, how long they are kept, and the table
#: size below which the whole term is asked of the index (it is cheap there).
SAMPLE_ROWS = 2000
SAMPLE_SECONDS = 3600
SAMPLE_MIN_TABLE = 50_000

_sample: dict = {"until": 0.0, "counts": {}, "rows": 0}


def text_filter(qs, text: str):
    """`qs` narrowed to rows whose `search` contains `text` (lower-cased,
    whitespace-collapsed by the caller)."""
    if connection.vendor == "sqlite":
        ids = _fts_ids(text)
        if ids is not None and len(ids) <= RARE_SEARCH:
            return qs.filter(pk__in=ids, search__contains=text)
        return qs.filter(search__contains=text)
    grams = rare_trigrams(text)
    if not grams:
        return qs.filter(search__contains=text)
    # LIKE '%abc%' per rare trigram: the GIN index reads only their short lists.
    for gram in grams:
        qs = qs.filter(search__contains=gram)
    return qs.filter(GreaterThan(StrIndex("search", Value(text)), 0))


def _fts_ids(text: str) -> list[int] | None:
    """Up to RARE_SEARCH + 1 ids of rows whose text holds `text` (FTS5 trigram
    phrase: the term's trigrams in a row); None for a term under 3 characters,
    which the trigram index cannot answer."""
    if len(text) < 3:
        return None
    phrase = '"' + text.replace('"', '""') + '"'
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s LIMIT %s",
            [phrase, RARE_SEARCH + 1],
        )
        return [row[0] for row in cursor.fetchall()]


def rare_trigrams(text: str) -> list[str]:
    """PostgreSQL: up to RARE_TRIGRAMS trigrams of `text` (three letters or digits
    in a row, as pg_trgm makes them inside a word), rarest first, each in at
    most COMMON_SHARE of the sampled rows; [] when there is no such trigram or the
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


def _trigram_sample() -> tuple[dict[str, int], int]:
    """(trigram -> sampled rows holding it, sampled rows), from about SAMPLE_ROWS
    random rows of the whole table, kept SAMPLE_SECONDS per process."""
    now = time.monotonic()
    if now < _sample["until"]:
        return _sample["counts"], _sample["rows"]
    table = Activity._meta.db_table
    counts, rows = {}, 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table]
        )
        (size,) = cursor.fetchone() or (0,)
        if size >= SAMPLE_MIN_TABLE:
            # A table never analysed has reltuples -1: sample all of it.
            share = min(100.0, 100.0 * 2 * SAMPLE_ROWS / max(size, 1))
            cursor.execute(
                f'WITH s AS (SELECT "search" FROM "{table}" TABLESAMPLE SYSTEM (%s) '
                "LIMIT %s) SELECT t, count(*) FROM s, unnest(show_trgm(s.search)) t "
                "GROUP BY t UNION ALL SELECT NULL, count(*) FROM s",
                [share, SAMPLE_ROWS],
            )
            for gram, n in cursor.fetchall():
                if gram is None:
                    rows = n
                else:
                    counts[gram] = n
    _sample.update(until=now + SAMPLE_SECONDS, counts=counts, rows=rows)
    return counts, rows


def reset_sample() -> None:
    """Forget the PostgreSQL trigram sample (tests; a table just filled)."""
    _sample.update(until=0.0, counts={}, rows=0)
