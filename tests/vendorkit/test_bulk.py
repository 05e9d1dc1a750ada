"""Bulk upsert and reconcile: counts, soft delete and restore, local-only fields,
and a query count that does not grow with the number of rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cobrowse_portal.vendorkit.bulk import fingerprint, mark_removed, reconcile, upsert
from vendors.surfly.models import CobrowseSession, SurflyAgent, SurflyWebhook


def agent(i: int, **extra) -> dict:
    raw = {"agent_id": str(i), "agent_name": f"Agent {i}", **extra}
    return {
        "external_id": str(i),
        "name": raw["agent_name"],
        "email": f"{i}@x.test",
        "raw": raw,
    }


def test_upsert_counts_created_updated_unchanged(account):
    counts = upsert(SurflyAgent, account, [agent(1), agent(2), agent(3)])
    assert (counts.created, counts.updated, counts.unchanged) == (3, 0, 0)
    counts = upsert(
        SurflyAgent, account, [agent(1), agent(2, available=True), agent(4)]
    )
    assert (counts.created, counts.updated, counts.unchanged) == (1, 1, 1)
    assert SurflyAgent.objects.filter(account=account).count() == 4
    row = SurflyAgent.objects.get(account=account, external_id="2")
    assert row.raw == {"agent_id": "2", "agent_name": "Agent 2", "available": True}
    assert row.fingerprint == fingerprint(row.raw) and row.synced_at is not None


def test_rerunning_the_same_listing_creates_nothing(account):
    rows = [agent(i) for i in range(50)]
    upsert(SurflyAgent, account, rows)
    again = upsert(SurflyAgent, account, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 50)
    assert SurflyAgent.objects.count() == 50


def test_fingerprint_ignores_key_order():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_a_row_repeated_in_one_answer_is_written_once(account):
    counts = upsert(SurflyAgent, account, [agent(1), agent(1, available=False)])
    assert counts.created == 1 and SurflyAgent.objects.count() == 1
    assert SurflyAgent.objects.get().raw["available"] is False  # the last copy wins


def test_reconcile_marks_missing_rows_removed_and_restores_returning_ones(account):
    reconcile(SurflyAgent, account, [agent(1), agent(2), agent(3)])
    counts = reconcile(SurflyAgent, account, [agent(1), agent(3)])
    assert counts.removed == 1 and counts.unchanged == 2
    gone = SurflyAgent.objects.get(external_id="2")
    assert gone.is_removed
    # Reconciling again does not count it twice.
    assert reconcile(SurflyAgent, account, [agent(1), agent(3)]).removed == 0
    # It comes back unchanged: restored, counted as updated.
    counts = reconcile(SurflyAgent, account, [agent(1), agent(2), agent(3)])
    assert (counts.updated, counts.unchanged, counts.removed) == (1, 2, 0)
    assert not SurflyAgent.objects.get(external_id="2").is_removed


def test_a_scoped_reconcile_removes_only_within_its_scope(account):
    """A listing of part of an account (one parent's children) marks missing
    rows removed among that part only; the rest stay as they are."""
    reconcile(
        SurflyAgent,
        account,
        [agent(i, team="a" if i < 3 else "b") for i in (1, 2, 3, 4)],
    )
    SurflyAgent.objects.filter(external_id__in=["1", "2"]).update(email="a@x.test")
    scope = {"email": "a@x.test"}
    counts = reconcile(SurflyAgent, account, [], scope=scope)
    assert counts.removed == 2
    assert set(
        SurflyAgent.objects.filter(removed_at=None).values_list(
            "external_id", flat=True
        )
    ) == {"3", "4"}
    # Nothing left in the scope: removing again counts nothing.
    assert mark_removed(SurflyAgent, account, set(), scope=scope) == 0
    # Unscoped, the same empty listing removes the rest.
    assert mark_removed(SurflyAgent, account, set()) == 2


def test_accounts_never_touch_each_other(account, other_account):
    reconcile(SurflyAgent, account, [agent(1)])
    reconcile(SurflyAgent, other_account, [agent(1), agent(2)])
    assert reconcile(SurflyAgent, account, []).removed == 1
    assert (
        SurflyAgent.objects.filter(account=other_account, removed_at=None).count() == 2
    )
    assert SurflyAgent.objects.filter(account=account).count() == 1


def test_local_only_fields_survive_an_update(account):
    hook = {
        "external_id": "h1",
        "url": "https://portal.test/hooks/1/t/",
        "category": "session.started",
        "enabled": True,
        "raw": {"id": "h1"},
    }
    upsert(SurflyWebhook, account, [hook])
    SurflyWebhook.objects.filter(external_id="h1").update(disabled_by_portal=True)
    upsert(
        SurflyWebhook,
        account,
        [{**hook, "enabled": False, "raw": {"id": "h1", "enabled": False}}],
    )
    row = SurflyWebhook.objects.get(external_id="h1")
    assert row.enabled is False and row.disabled_by_portal is True


def test_typed_fields_round_trip(account):
    start = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    upsert(
        CobrowseSession,
        account,
        [
            {
                "external_id": "s1",
                "start_time": start,
                "duration": 90,
                "tags": ["a", "b"],
                "meta": {"k": [1, 2]},
                "is_active": False,
                "raw": {"id": "s1"},
            }
        ],
    )
    row = CobrowseSession.objects.get(external_id="s1")
    assert row.start_time == start and row.duration == 90
    assert row.tags == ["a", "b"] and row.meta == {"k": [1, 2]} and not row.is_active
    assert row.raw == {"id": "s1"}


#: SurflyAgent feeds the control room's agent directory (declared in the registry):
#: each batch also writes VendorAgent / AgentIdentity rows in the same transaction,
#: a constant number of statements more (tests/core/test_activity_index.py),
#: two of them the workspace's write generation (core.pagecache: the index rows
#: and the directory rows each bump it).
INDEX = 14


def _queries_for(n, account, django_assert_max_num_queries, limit):
    limit += INDEX
    rows = [agent(i) for i in range(n)]
    with django_assert_max_num_queries(limit):
        upsert(SurflyAgent, account, rows)
    with django_assert_max_num_queries(limit):
        upsert(SurflyAgent, account, [agent(i, available=True) for i in range(n)])
    with django_assert_max_num_queries(limit + 2):
        reconcile(SurflyAgent, account, rows[: n // 2])


def test_query_count_does_not_depend_on_row_count(
    account, other_account, django_assert_max_num_queries
):
    """Per batch of 1,000: one read of fingerprints and one INSERT ... ON CONFLICT
    (plus savepoints). 10 rows and 900 rows cost the same."""
    _queries_for(10, account, django_assert_max_num_queries, limit=6)
    _queries_for(900, other_account, django_assert_max_num_queries, limit=6)


def test_query_count_grows_per_batch_not_per_row(
    account, django_assert_max_num_queries
):
    rows = [agent(i) for i in range(2500)]
    with django_assert_max_num_queries(3 * (4 + INDEX)):  # three batches
        counts = upsert(SurflyAgent, account, rows)
    assert counts.created == 2500
    with django_assert_max_num_queries(8 + 3 * INDEX):
        assert mark_removed(SurflyAgent, account, set()) == 2500


def test_the_query_check_catches_a_row_by_row_write(
    account, monkeypatch, django_assert_max_num_queries
):
    """Deliberately broken: one UPDATE per row. The bound above would fail."""
    import pytest

    from cobrowse_portal.vendorkit import bulk

    def row_by_row(model, acc, rows, **kwargs):
        for row in rows:
            model.objects.update_or_create(
                account=acc,
                external_id=row["external_id"],
                defaults={"raw": row["raw"]},
            )

    monkeypatch.setattr(bulk, "_write", row_by_row)
    with pytest.raises(pytest.fail.Exception), django_assert_max_num_queries(6):
        upsert(SurflyAgent, account, [agent(i) for i in range(50)])


def test_delete_remote_marks_removed_and_treats_404_as_gone(account):
    import pytest

    from cobrowse_portal.vendorkit.bulk import delete_remote
    from cobrowse_portal.vendorkit.errors import NotFound, TransientVendorError

    upsert(SurflyAgent, account, [agent(1), agent(2), agent(3)])
    one, two, three = SurflyAgent.objects.filter(account=account).order_by("pk")
    assert delete_remote(one, lambda: "Deleted.", gone="gone") == "Deleted."

    def missing():
        raise NotFound("surfly answered 404")

    assert delete_remote(two, missing, gone="already gone") == "already gone"

    def down():
        raise TransientVendorError("surfly answered 503")

    with pytest.raises(TransientVendorError):
        delete_remote(three, down, gone="x")
    removed = dict(
        SurflyAgent.objects.filter(account=account).values_list(
            "external_id", "removed_at"
        )
    )
    assert removed["1"] and removed["2"] and removed["3"] is None


def test_sqlite_datetimes_are_stored_as_django_stores_them():
    """The bulk path's own datetime adapter (SQLite) writes Django's text."""
    import zoneinfo
    from datetime import timedelta, timezone

    from django.db import connection

    from cobrowse_portal.vendorkit.bulk import _sqlite_datetime

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's text datetimes")
    base = datetime(2026, 3, 29, 1, 30, 5, 123456)
    for value in (
        base.replace(tzinfo=UTC),
        base.replace(tzinfo=zoneinfo.ZoneInfo("UTC")),
        base.replace(tzinfo=zoneinfo.ZoneInfo("Europe/Amsterdam")),
        base.replace(microsecond=0, tzinfo=timezone(timedelta(hours=-5))),
    ):
        assert _sqlite_datetime(value) == connection.ops.adapt_datetimefield_value(
            value
        ), value


def test_postgresql_analyzes_a_never_analyzed_table_after_its_first_batch(
    account, monkeypatch
):
    """Without statistics PostgreSQL's planner probes a fresh table's keys through
    the smallest `account_id` index with a filter (a backfill slowing with every
    page): the first batch written into a never-analyzed table analyzes it, once
    per table and process."""
    from django.db import connection

    from cobrowse_portal.vendorkit import bulk

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    table = SurflyAgent._meta.db_table
    monkeypatch.setattr(bulk, "_analyzed", set())

    def reltuples(value=None) -> float:
        with connection.cursor() as cursor:
            if value is not None:  # as a fresh installation has it
                cursor.execute(
                    "UPDATE pg_class SET reltuples = %s WHERE oid = %s::regclass",
                    [value, table],
                )
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table]
            )
            return cursor.fetchone()[0]

    assert reltuples(-1) < 0
    upsert(SurflyAgent, account, [agent(i) for i in range(30)])
    assert reltuples() == 30  # the batch's own rows, counted in its transaction
    assert (connection.alias, table) in bulk._analyzed
    # The same process does not look again (one catalog read per table).
    assert reltuples(-1) < 0
    upsert(SurflyAgent, account, [agent(i) for i in range(30, 60)])
    assert reltuples() < 0


def _sqlite_scratch(cursor) -> None:
    cursor.execute("CREATE TEMP TABLE scratch (a INTEGER PRIMARY KEY, b TEXT, c)")


def test_sqlite_insert_splits_a_batch_by_the_parameter_limit(db, monkeypatch):
    """One multi-row INSERT per as many rows as the connection may bind (here
    10 parameters: three rows of three), every row written once, the count the
    database's; an ON CONFLICT tail counts updated rows too."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cobrowse_portal.vendorkit import bulk

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's multi-row VALUES")
    monkeypatch.setattr(bulk, "_sqlite_params", lambda cursor: 10)
    with connection.cursor() as cursor:
        _sqlite_scratch(cursor)
    rows = [(i, f"r{i}", i * 1.5) for i in range(7)]
    with CaptureQueriesContext(connection) as seen, connection.cursor() as cursor:
        written = bulk.sqlite_insert(cursor, "INSERT INTO scratch (a, b, c)", rows)
    assert written == 7
    with connection.cursor() as cursor:
        inserts = [q["sql"] for q in seen.captured_queries]
        assert len(inserts) == 3 and all("INSERT INTO scratch" in q for q in inserts)
        again = bulk.sqlite_insert(
            cursor,
            "INSERT INTO scratch (a, b, c)",
            [(i, f"s{i}", None) for i in range(5, 9)],
            "ON CONFLICT (a) DO UPDATE SET b = excluded.b",
        )
        assert again == 4  # two updated, two inserted
        cursor.execute("SELECT a, b, c FROM scratch ORDER BY a")
        assert cursor.fetchall() == [
            *[(i, f"r{i}", i * 1.5) for i in range(5)],
            (5, "s5", 7.5),
            (6, "s6", 9.0),
            (7, "s7", None),
            (8, "s8", None),
        ]


def test_sqlite_insert_unlogged_goes_to_the_driver_with_django_errors(db):
    """Where nothing logs statements the ? text goes to the driver directly
    (no per-call placeholder rewrite): the same rows, and a failing statement
    still raises Django's error, not the driver's."""
    from django.db import IntegrityError, connection, transaction

    from cobrowse_portal.vendorkit import bulk

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's multi-row VALUES")
    assert not connection.queries_logged and not connection.execute_wrappers
    with connection.cursor() as cursor:
        _sqlite_scratch(cursor)
        rows = [(i, "x%s", None) for i in range(2500)]  # a % in a value is data
        assert bulk.sqlite_insert(cursor, "INSERT INTO scratch (a, b, c)", rows) == 2500
        cursor.execute("SELECT count(*), min(b), max(b) FROM scratch")
        assert cursor.fetchone() == (2500, "x%s", "x%s")
        with pytest.raises(IntegrityError), transaction.atomic():
            bulk.sqlite_insert(cursor, "INSERT INTO scratch (a, b, c)", rows[:2])
