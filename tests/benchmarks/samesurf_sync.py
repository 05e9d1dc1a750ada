"""SameSurf analytics-room sync benchmark (`make bench BENCH=samesurf`). Prints
figures; asserts nothing.

The SameSurf sandbox is seeded with N analytics rooms (past rooms of the
reseller subscription, about a fifth with screen recordings, a few room numbers
used twice) and served by a real gunicorn process on loopback; the real client
pulls it over HTTP (JWT per request, `skip` + `take` pages) through the real
analytics stream:

  (a) backfill into an empty portal database (rooms, their recordings and the
      control room's activities and usage rollups),
  (b) re-sync with nothing new (requests made; target <= 2),
  (c) incremental re-sync after 1% new rooms ended at SameSurf.

In the same run and on the same rows it measures the raw database upsert rate
of the room table (harness.raw_upsert) and prints the backfill as a ratio of it
(target >= 40%). Peak RSS is measured in separate processes for a small and a
large backfill (target: < 100 MB growth). CPU seconds of the portal process and
of the sandbox server are printed beside wall time (the machine is shared).

Runs on SQLite by default; on PostgreSQL when DATABASE_URL is set to postgres://…
(in a database derived from its name: `<name>_bench_samesurf`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

from tests.benchmarks.harness import (
    WORK,
    Server,
    bench_account,
    peak_rss_mb,
    portal_database,
    raw_upsert,
    report_sync,
    run_child,
    run_stream,
    seeded_sandbox,
)

MODULE = "tests.benchmarks.samesurf_sync"


def prepare(tag: str, records: int, portal_url: str | None) -> dict:
    return seeded_sandbox("samesurf", tag, records, portal_url)


def child(env: dict, *args: str) -> dict:
    return run_child(MODULE, env, *args)


# --- child side (inside Django) -----------------------------------------------
def _account(base_url: str, page_size: str):
    from vendors.samesurf.client import SameSurfClient

    # The rooms asked for per page (`take`); 0: the client's own default.
    if int(page_size):
        SameSurfClient.page_size = int(page_size)
    return bench_account("samesurf", base_url)


def _vendor_rooms():
    from vendors.samesurf.sandbox.models import Room
    from vendors.samesurf.sandbox.seed import RESELLER_NAME

    return Room.objects.filter(subscription__name=RESELLER_NAME, ended_at__isnull=False)


def child_backfill(base_url: str, page_size: str) -> dict:
    account = _account(base_url, page_size)
    result = run_stream(account, "analytics")
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def child_full(base_url: str, page_size: str) -> dict:
    from django.db import connection

    from cobrowse_portal.core.models import Activity
    from vendors.samesurf.models import SameSurfRecording, SameSurfRoom

    account = _account(base_url, page_size)
    out = {"backfill": run_stream(account, "analytics")}
    out["backfill"]["peak_rss_mb"] = peak_rss_mb()
    out["nochange"] = run_stream(account, "analytics")
    out["appended_records"] = _append_rooms(fraction=0.01)
    out["incremental_after_new"] = run_stream(account, "analytics")
    rooms = SameSurfRoom.objects.filter(account=account)
    vendor = _vendor_rooms()
    out["check"] = {
        "vendor_rooms": vendor.count(),
        "stored_rooms": rooms.count(),
        "distinct_keys": rooms.values("number", "version").distinct().count(),
        "activities": Activity.objects.filter(account=account).count(),
        "recordings": SameSurfRecording.objects.filter(account=account).count(),
        "vendor_recordings": sum(vendor.values_list("recordings", flat=True)),
    }
    out["raw"] = raw_upsert(SameSurfRoom, account)
    out["raw_index"] = raw_upsert(
        SameSurfRoom, account, with_activities=True, side=(SameSurfRecording,)
    )
    out["vendor"] = connection.vendor
    return out


def _append_rooms(fraction: float) -> int:
    """1% new rooms that ended at SameSurf in the last hour (new numbers)."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from vendors.samesurf.sandbox.models import Room
    from vendors.samesurf.sandbox.records import new_token

    vendor = _vendor_rooms()
    template = vendor.first()
    taken = set(vendor.values_list("number", flat=True))
    count = int(vendor.count() * fraction)
    rng, now, batch = random.Random(5), timezone.now(), []
    while len(batch) < count:
        number = str(rng.randrange(100_000_000, 1_000_000_000))
        if number in taken:
            continue
        taken.add(number)
        started = now - timedelta(minutes=50, seconds=rng.randrange(0, 600))
        batch.append(
            Room(
                subscription=template.subscription,
                number=number,
                title="Bench room",
                token=new_token(rng),
                leader_token=new_token(rng),
                started_at=started,
                ended_at=started + timedelta(minutes=20),
                duration=1200,
                recordings=rng.choice((0, 0, 1)),
            )
        )
    Room.objects.bulk_create(batch, batch_size=2000)
    return count


# --- orchestration ---------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument(
        "--page-size",
        type=int,
        default=0,
        help="rooms per analyticsrooms request (`take`; the sandbox allows up to "
        "1000); 0: the client's own page size",
    )
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        import django

        django.setup()
        command, *rest = args.child
        result = {"backfill": child_backfill, "full": child_full}[command](*rest)
        print(json.dumps(result))  # noqa: T201
        return

    portal_url, backend = portal_database("samesurf")
    out = print  # noqa: T202
    out(
        f"SameSurf analytics-room sync benchmark on {backend}: {args.records:,} "
        f"rooms, {args.page_size or 'the client default'} per request, sandbox "
        f"served by gunicorn on 127.0.0.1; load {os.getloadavg()[0]:.2f}"
    )
    page = str(args.page_size)
    small = prepare("small", args.small, portal_url)
    server = Server(small["env"])
    try:
        small_run = child(small["env"], "backfill", server.url, page)
    finally:
        server.stop()

    big = prepare("big", args.records, portal_url)
    out(
        f"seeded the sandbox with {args.records:,} rooms in {big['seed_seconds']:.1f} s"
    )
    server = Server(big["env"])
    try:
        cpu = server.cpu_seconds()
        full = child(big["env"], "full", server.url, page)
        server_cpu = server.cpu_seconds() - cpu
    finally:
        server.stop()
    shutil.rmtree(WORK, ignore_errors=True)

    rows = [
        ("(a) backfill", full["backfill"]),
        ("(b) re-sync, no change", full["nochange"]),
        (
            f"(c) incremental, {full['appended_records']:,} new",
            full["incremental_after_new"],
        ),
    ]
    report_sync(
        out,
        full,
        small_run,
        rows,
        unit="rooms",
        small=args.small,
        records=args.records,
        server_cpu=server_cpu,
    )
    c = full["check"]
    out(
        f"stored {c['stored_rooms']:,} rooms ({c['distinct_keys']:,} distinct "
        f"(number, version)) of {c['vendor_rooms']:,} at SameSurf; "
        f"{c['activities']:,} activities; {c['recordings']:,} recordings of "
        f"{c['vendor_recordings']:,}"
    )


if __name__ == "__main__":
    main()
