"""The sync benchmarks' raw figures: the vendor rows alone, and the vendor rows
with their control-room activities (issue 8: both in one transaction)."""

from datetime import UTC, datetime, timedelta

from cobrowse_portal.core.models import Activity, VendorAccount
from cobrowse_portal.vendorkit.bulk import upsert
from tests.benchmarks.harness import raw_upsert
from vendors.samesurf.models import SameSurfRoom

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def _account(reseller, rooms: int):
    account = VendorAccount(workspace=reseller, vendor="samesurf", name="bench")
    account.set_credentials({"api_key": "k", "api_secret": "s"})
    account.save()
    upsert(
        SameSurfRoom,
        account,
        [
            {
                "external_id": f"{100 + i}:0",
                "number": str(100 + i),
                "version": 0,
                "title": f"Room {i}",
                "started_at": T0 + timedelta(minutes=i),
                "ended_at": T0 + timedelta(minutes=i + 5),
                "duration": 300,
                "recordings": 0,
                "raw": {"room": str(100 + i)},
            }
            for i in range(rooms)
        ],
    )
    return account


def test_raw_upsert_with_activities_writes_both_tables_and_leaves_no_scratch(
    reseller,
):
    from django.db import connection

    account = _account(reseller, 7)
    assert Activity.objects.filter(account=account).count() == 7

    plain = raw_upsert(SameSurfRoom, account)
    both = raw_upsert(SameSurfRoom, account, with_activities=True)

    assert (plain["rows"], plain["activities"]) == (7, 0)
    assert (both["rows"], both["activities"]) == (7, 7)
    assert both["tags"] == 0 and both["side_rows"] == 0
    assert both["records_per_second"] > 0
    # Scratch tables (and SQLite's scratch text index) are gone afterwards.
    assert not [
        t for t in connection.introspection.table_names() if t.startswith("bench_raw")
    ]


def test_raw_upsert_counts_every_row_the_sync_stores_and_checks_foreign_keys(
    reseller,
):
    """Side rows (SameSurf's recordings) and the activities' tag rows are in the
    raw figure; its scratch copies check the same foreign keys as the real
    tables (PostgreSQL's LIKE copies none: they are added)."""
    from django.db import connection

    from cobrowse_portal.core.models import ActivityTag
    from tests.benchmarks import harness
    from vendors.samesurf.models import SameSurfRecording

    account = _account(reseller, 5)
    room = SameSurfRoom.objects.filter(account=account).first()
    upsert(
        SameSurfRecording,
        account,
        [
            {
                "external_id": f"{room.external_id}#{i}",
                "room": room.pk,
                "index": i,
                "raw": {"i": i},
            }
            for i in range(3)
        ],
    )
    activity = Activity.objects.filter(account=account).first()
    ActivityTag.objects.create(
        workspace=account.workspace, activity=activity, tag="vip"
    )

    both = raw_upsert(
        SameSurfRoom, account, with_activities=True, side=(SameSurfRecording,)
    )
    assert (both["rows"], both["activities"], both["tags"], both["side_rows"]) == (
        5,
        5,
        1,
        3,
    )

    name, *_ = harness._scratch(
        SameSurfRecording, account, "bench_raw_fk", ("account_id", "external_id")
    )
    try:
        with connection.cursor() as cur:
            constraints = connection.introspection.get_constraints(cur, name)
        referenced = {
            c["foreign_key"][0] for c in constraints.values() if c["foreign_key"]
        }
        assert {
            SameSurfRoom._meta.db_table,
            VendorAccount._meta.db_table,
        } <= referenced
    finally:
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute('DROP TABLE "bench_raw_fk"')


def test_raw_upserts_scratch_copies_carry_every_index_of_the_real_table(reseller):
    """The raw figure maintains what every writer of the table maintains: the
    copy of the vendor table has the real table's indexes, on both databases."""
    from django.db import connection

    from tests.benchmarks import harness

    account = _account(reseller, 3)
    name, *_ = harness._scratch(
        SameSurfRoom,
        account,
        "bench_raw_ix",
        ("account_id", "external_id"),
        indexes=True,
    )

    def index_columns(table):
        with connection.cursor() as cur:
            found = connection.introspection.get_constraints(cur, table)
        return sorted(
            tuple(c["columns"]) for c in found.values() if c["index"] or c["unique"]
        )

    try:
        real = index_columns(SameSurfRoom._meta.db_table)
        assert len(real) >= 5 and index_columns(name) == real
    finally:
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute('DROP TABLE "bench_raw_ix"')
