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
    assert both["records_per_second"] > 0
    # Scratch tables (and SQLite's scratch text index) are gone afterwards.
    assert not [
        t for t in connection.introspection.table_names() if t.startswith("bench_raw")
    ]
