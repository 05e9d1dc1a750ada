"""The Activity page's free-text search through its indexes (README "The control
room"): every row of the workspace is searched, and the rows found are exactly
those a plain substring test finds, whichever path a term takes (SQLite's FTS5
trigram ids or its page-order walk; PostgreSQL's rarest trigrams or the whole
term), with filters and keyset pages."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cobrowse_portal.core import search
from cobrowse_portal.core.models import Activity
from cobrowse_portal.core.views import control

from .test_control_pages import (
    ACTIVITY,
    _hand_made_index,  # noqa: F401  (the autouse fixture: start from an empty index)
    act,
    fake_account,
    shown,
)

TEXTS = [
    ("Ann Agent", "visitor-04242", "https://shop.example/cart", "Refund help", []),
    ("Ann Agent", "visitor-04243", "https://shop.example/cartography", "", ["VIP"]),
    ("", "visitor-14242", "https://a.test/x?q=100%", "Price 100% off", []),
    ("Bob", "a_b c", "https://a.test/a_b", 'He said "hi"', ["billing"]),
    ("Zoë Ünïcode", "", "", "Naïve café", ["über"]),
    ("", "visitor-00001", "", "refund  refunded", ["refund"]),
    ("", "", "", "", []),
]
TERMS = [
    "visitor-04242",
    "visitor-0424",
    "04242",
    "4242",
    "visitor-",
    "refund",
    "refund refunded",
    "shop.example/cart",
    "cart",
    "100%",
    "0%",
    "a_b",
    "_",
    "%",
    '"hi"',
    'd "h',
    "ünï",
    "café",
    "zoë ünïcode",
    "vi",
    "x",
    "ann agent visitor-04243",
    "no such text",
]


@pytest.fixture(autouse=True)
def _render_every_request(settings):
    """These pin the search itself (its statements, and the text index following
    raw queryset writes that no product writer makes): every request renders.
    The page cache's own tests are tests/core/test_pagecache.py."""
    settings.PAGE_CACHE = False


@pytest.fixture
def corpus(portal):
    """The TEXTS in the manager's workspace (one row removed, one in another
    workspace, one in another account of this one), oldest a year ago."""
    now = timezone.now()
    desk = fake_account(portal.reseller, "Second desk", "legacychat")
    rows = []
    for i, (agent, visitor, url, title, tags) in enumerate(TEXTS):
        rows.append(
            act(
                desk if i % 2 else portal.account,
                agent_name=agent,
                visitor=visitor,
                url=url,
                title=title,
                tags=tags,
                started_at=now - timedelta(days=365 - i),
            )
        )
    removed = act(portal.account, visitor="visitor-04242", removed_at=now)
    outsider = act(portal.other_account, visitor="visitor-04242 refund")
    return {"rows": rows, "removed": removed, "outsider": outsider}


def substring_matches(workspace, term: str) -> set[int]:
    """What a plain substring test finds: the reference every path must equal."""
    return {
        a.pk
        for a in Activity.objects.filter(workspace=workspace, removed_at__isnull=True)
        if term in a.search
    }


def all_pages(client, params) -> list[int]:
    """Every row shown, following the keyset "next" links to the end."""
    seen, query = [], dict(params)
    for _ in range(100):
        page = client.get(ACTIVITY, query).content.decode()
        seen += [int(pk) for pk in re.findall(r'data-activity="(\d+)"', page)]
        found = re.search(r'class="pager".*?href="\?([^"]*after=[^"]*)"', page, re.S)
        if not found:
            return seen
        query = dict(parse_qsl(htmllib.unescape(found.group(1))))
    raise AssertionError("no last page")


PATHS = ["rare-trigrams", "whole-term", "walk"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    """`rare-trigrams`: the sample treats any trigram in at most half the rows as
    rare; `whole-term`: no sample (SQLite: the term as an FTS5 phrase; PostgreSQL:
    the whole term asked of the GIN index); `walk`: no index ids either (SQLite:
    no term is rare, the page order is walked)."""
    search.reset_sample()
    if request.param == "rare-trigrams":
        # -1: even a table never analysed (reltuples -1) is sampled.
        monkeypatch.setattr(search, "SAMPLE_MIN_TABLE", -1)
        monkeypatch.setattr(search, "COMMON_SHARE", 0.5)
    else:
        monkeypatch.setattr(search, "SAMPLE_MIN_TABLE", 10**12)
    if request.param == "walk":
        monkeypatch.setattr(search, "RARE_SEARCH", 0)
    yield request.param
    search.reset_sample()


def test_search_finds_exactly_the_substring_matches(portal, client, corpus, path):
    client.force_login(portal.personas["manager"])
    for term in TERMS:
        expect = substring_matches(portal.reseller, term.lower())
        got = shown(client.get(ACTIVITY, {"q": term}).content.decode())
        assert got == expect, term
    assert substring_matches(portal.reseller, "visitor-04242") == {corpus["rows"][0].pk}
    # The path this test meant is the one taken.
    with CaptureQueriesContext(connection) as ctx:
        client.get(ACTIVITY, {"q": "visitor-04242"})
    (listed,) = [
        q["sql"].upper()
        for q in ctx.captured_queries
        if 'FROM "CORE_ACTIVITY"' in q["sql"].upper() and "LIMIT 51" in q["sql"]
    ]
    if connection.vendor == "sqlite":
        assert ('"ID" IN (' in listed) == (path != "walk"), listed
    else:
        assert ("STRPOS" in listed) == (path == "rare-trigrams"), listed


def test_search_keyset_pages_and_filters(portal, client, corpus, path, monkeypatch):
    monkeypatch.setattr(control, "PAGE_SIZE", 2)
    client.force_login(portal.personas["manager"])
    for term in ["visitor", "a", "refund", "cart"]:
        expect = substring_matches(portal.reseller, term)
        pages = all_pages(client, {"q": term})
        assert len(pages) == len(set(pages)) and set(pages) == expect, term
        desk = corpus["rows"][1].account_id
        pages = all_pages(client, {"q": term, "account": desk})
        assert set(pages) == {
            pk for pk in expect if Activity.objects.get(pk=pk).account_id == desk
        }, term


def test_search_reads_every_row_of_the_workspace(portal, client, monkeypatch):
    """No bound to the newest rows: an activity years old is found without a
    "From" date (SQLite used to read only the newest 50,000)."""
    monkeypatch.setattr(control, "SQLITE_SEARCH_ROWS", 3, raising=False)
    now = timezone.now()
    old = act(
        portal.account, visitor="needle old", started_at=now - timedelta(days=900)
    )
    for i in range(5):
        act(portal.account, visitor=f"hay {i}", started_at=now - timedelta(hours=i))
    new = act(portal.account, visitor="needle new", started_at=now)
    client.force_login(portal.personas["manager"])
    page = client.get(ACTIVITY, {"q": "needle"}).content.decode()
    assert shown(page) == {old.pk, new.pk}
    assert 'id="search-bounded"' not in page
    assert shown(client.get(ACTIVITY, {"q": "needle old"}).content.decode()) == {old.pk}


def test_search_follows_every_write_of_the_text(portal, client, path):
    """Rows written, changed through a queryset update, and deleted: the text
    index follows each (SQLite: triggers; PostgreSQL: the GIN index)."""
    client.force_login(portal.personas["manager"])
    row = act(portal.account, visitor="first-name-zq")
    assert shown(client.get(ACTIVITY, {"q": "name-zq"}).content.decode()) == {row.pk}
    Activity.objects.filter(pk=row.pk).update(search="renamed-xk")
    assert shown(client.get(ACTIVITY, {"q": "name-zq"}).content.decode()) == set()
    assert shown(client.get(ACTIVITY, {"q": "renamed"}).content.decode()) == {row.pk}
    Activity.objects.filter(pk=row.pk).update(title="only the title")  # same text
    assert shown(client.get(ACTIVITY, {"q": "renamed"}).content.decode()) == {row.pk}
    Activity.objects.filter(pk=row.pk).delete()
    again = act(portal.account, visitor="renamed-xk too")
    assert shown(client.get(ACTIVITY, {"q": "renamed"}).content.decode()) == {again.pk}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 table")
def test_sqlite_rare_term_is_read_from_the_fts_index(portal, client):
    row = act(portal.account, visitor="visitor-04242")
    act(portal.account, visitor="visitor-1")
    client.force_login(portal.personas["manager"])
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(ACTIVITY, {"q": "visitor-04242"}).content.decode()
    assert shown(page) == {row.pk}
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert any("core_activity_fts MATCH" in s for s in sqls), sqls
    listed = [s for s in sqls if 'FROM "core_activity"' in s and "LIMIT 51" in s]
    assert listed and f'"core_activity"."id" IN ({row.pk})' in listed[0], listed


def test_the_index_is_asked_for_the_rarest_trigrams_only(portal, client, monkeypatch):
    """`visitor-` is in every row: its trigrams are not asked of the index; the
    digits are (SQLite: FTS5 ids; PostgreSQL: LIKE per trigram, `strpos` for
    the whole term)."""
    monkeypatch.setattr(search, "SAMPLE_MIN_TABLE", 0)
    search.reset_sample()
    rows = [act(portal.account, visitor=f"visitor-{i:05d}") for i in range(60)]
    # In at most 2% of 60 rows: only "042" (000 and 004 are in ten rows each).
    assert search.rare_trigrams("visitor-00042") == ["042"]
    client.force_login(portal.personas["manager"])
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(ACTIVITY, {"q": "visitor-00042"}).content.decode()
    assert shown(page) == {rows[42].pk}
    (sql,) = [
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "core_activity"' in q["sql"] and "LIMIT 51" in q["sql"]
    ]
    if connection.vendor == "sqlite":
        (fts,) = [q["sql"] for q in ctx.captured_queries if "MATCH" in q["sql"]]
        assert "'\"042\"'" in fts, fts
        assert f'"core_activity"."id" IN ({rows[42].pk})' in sql, sql
    else:
        assert "STRPOS" in sql.upper() and "%042%" in sql, sql
        assert "visitor-00042%" not in sql, sql
    search.reset_sample()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 table")
def test_sqlite_index_is_restored_after_a_migration_drops_its_triggers(portal, client):
    """A migration that remakes `core_activity` on SQLite drops its triggers:
    post_migrate re-creates them and rebuilds the index from the table."""
    from django.core.management import call_command

    client.force_login(portal.personas["manager"])
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER core_activity_fts_insert")
    unseen = act(portal.account, visitor="written-while-missing")
    assert search._fts_ids("written-while-missing", []) == []
    call_command("migrate", verbosity=0)
    assert search._fts_ids("written-while-missing", []) == [unseen.pk]
    later = act(portal.account, visitor="written-after")
    assert search._fts_ids("written-after", []) == [later.pk]
    assert not search.ensure_sqlite_index()  # nothing missing now


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 table")
def test_sqlite_bulk_write_fills_the_index_per_batch_and_keeps_it_whole(portal):
    """The bulk write pauses the insert trigger for its batch and adds the batch's
    new rows with one statement at its end; rows written meanwhile by anyone in
    that transaction are in it too, updates still follow, nothing is left paused,
    and the index stays an exact image of the table (FTS5 integrity-check)."""
    from django.db import transaction

    from cobrowse_portal.vendorkit.bulk import upsert
    from tests.core.test_bench_raw import T0, _account
    from vendors.samesurf.models import SameSurfRoom

    def paused() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {search.FTS_BATCH}")
            return bool(cursor.fetchone()[0])

    with transaction.atomic(), search.batch_text_index("default"):
        assert paused()
        inside = act(portal.account, visitor="written-inside-qv")
        assert search._fts_ids("written-inside-qv", []) == []  # not yet
    assert not paused()
    assert search._fts_ids("written-inside-qv", []) == [inside.pk]

    account = _account(portal.account.workspace, 5)  # a bulk upsert of 5 rooms
    assert not paused()
    rooms = Activity.objects.filter(account=account)
    assert {search._fts_ids(f"room {i}", [])[0] for i in range(5)} == {
        r.pk for r in rooms
    }
    upsert(  # one title changed, one room new: an update and an insert in a batch
        SameSurfRoom,
        account,
        [
            {
                "external_id": f"{100 + i}:0",
                "number": str(100 + i),
                "version": 0,
                "title": "Retitled zw" if i == 0 else f"Room {i}",
                "started_at": T0 + timedelta(minutes=i),
                "duration": 300,
                "raw": {"room": str(100 + i), "n": i},
            }
            for i in (0, 9)
        ],
    )
    assert search._fts_ids("retitled zw", []) == [rooms.get(external_id="100:0").pk]
    assert search._fts_ids("room 9", []) == [rooms.get(external_id="109:0").pk]
    assert not paused()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {search.FTS_TABLE}({search.FTS_TABLE}, rank) "
            "VALUES ('integrity-check', 1)"
        )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 table")
def test_sqlite_failed_batch_leaves_the_trigger_running(portal):
    """A batch that fails rolls back with its transaction, pause included."""
    from django.db import transaction

    with (
        pytest.raises(RuntimeError),
        transaction.atomic(),
        search.batch_text_index("default"),
    ):
        raise RuntimeError("the write failed")
    later = act(portal.account, visitor="after-a-failure-kq")
    assert search._fts_ids("after-a-failure-kq", []) == [later.pk]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 table")
def test_sqlite_insert_trigger_without_the_pause_is_replaced(portal):
    """A database left with the per-row insert trigger (no pause clause) would
    index a bulk write's rows twice: post_migrate's check replaces it."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {search.FTS_TABLE}_insert")
        cursor.execute(
            f"CREATE TRIGGER {search.FTS_TABLE}_insert AFTER INSERT ON core_activity "
            f"BEGIN INSERT INTO {search.FTS_TABLE}(rowid, search) "
            "VALUES (new.id, new.search); END"
        )
    assert search.ensure_sqlite_index()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE name = %s",
            [f"{search.FTS_TABLE}_insert"],
        )
        assert search.FTS_BATCH in cursor.fetchone()[0]
    row = act(portal.account, visitor="after-the-repair-jx")
    assert search._fts_ids("after-the-repair-jx", []) == [row.pk]
