"""Upscope co-browsing session sync benchmark (`make bench BENCH=upscope`).
Prints figures; asserts nothing.

The Upscope sandbox is seeded with N past sessions of its main account (and two
running) and served by a real gunicorn process on loopback; the real client
pulls `cobrowsing_sessions/list` over HTTP (`after_id` pages of the sandbox's
100, Upscope's own page size being undocumented) through the real sessions
stream:

  (a) backfill into an empty portal database (sessions and the control room's
      activities and usage rollups), each page committed with its cursor,
  (b) re-sync with nothing new (`updated_after` the newest change minus the
      look-back; requests made; target <= 2),
  (c) incremental re-sync after 1% new sessions at Upscope.

In the same run and on the same rows it measures the raw database upsert rate
of the session table (harness.raw_upsert) and prints the backfill as a ratio of
it (target >= 40%). Peak RSS is measured in separate processes for a small and
a large backfill (target: < 100 MB growth). CPU seconds of the portal process
and of the sandbox server are printed beside wall time (the machine is shared).

Runs on SQLite by default; on PostgreSQL when DATABASE_URL is set to postgres://…
(in a database derived from its name: `<name>_bench_upscope`).
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

MODULE = "tests.benchmarks.upscope_sync"


def prepare(tag: str, records: int, portal_url: str | None) -> dict:
    return seeded_sandbox("upscope", tag, records, portal_url)


def child(env: dict, *args: str) -> dict:
    return run_child(MODULE, env, *args)


# --- child side (inside Django) -----------------------------------------------
def _account(base_url: str):
    return bench_account("upscope", base_url)


def _vendor_sessions():
    from vendors.upscope.sandbox.models import CobrowsingSession
    from vendors.upscope.sandbox.seed import MAIN_KEY

    return CobrowsingSession.objects.filter(account__api_key=MAIN_KEY)


def child_backfill(base_url: str) -> dict:
    account = _account(base_url)
    result = run_stream(account, "sessions")
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def child_full(base_url: str) -> dict:
    from django.db import connection

    from cobrowse_portal.core.models import Activity
    from vendors.upscope.models import UpscopeSession

    account = _account(base_url)
    out = {"backfill": run_stream(account, "sessions")}
    out["backfill"]["peak_rss_mb"] = peak_rss_mb()
    out["nochange"] = run_stream(account, "sessions")
    out["appended_records"] = _append_sessions(fraction=0.01)
    out["incremental_after_new"] = run_stream(account, "sessions")
    sessions = UpscopeSession.objects.filter(account=account)
    out["check"] = {
        "vendor_sessions": _vendor_sessions().count(),
        "stored_sessions": sessions.count(),
        "ongoing": sessions.filter(is_ongoing=True).count(),
        "vendor_ongoing": _vendor_sessions().filter(ended_at__isnull=True).count(),
        "activities": Activity.objects.filter(account=account).count(),
    }
    out["raw"] = raw_upsert(UpscopeSession, account)
    out["raw_index"] = raw_upsert(UpscopeSession, account, with_activities=True)
    out["vendor"] = connection.vendor
    return out


def _append_sessions(fraction: float) -> int:
    """1% new sessions at Upscope, ended in the last hour (the next numbers)."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from vendors.upscope.sandbox.models import Account, CobrowsingSession
    from vendors.upscope.sandbox.seed import MAIN_KEY

    account = Account.objects.get(api_key=MAIN_KEY)
    vendor = _vendor_sessions()
    template = vendor.order_by("-number").first()
    count = int(vendor.count() * fraction)
    rng, now, batch = random.Random(5), timezone.now(), []
    first = account.next_session
    for i in range(count):
        started = now - timedelta(minutes=50, seconds=rng.randrange(0, 600))
        ended = started + timedelta(minutes=20)
        batch.append(
            CobrowsingSession(
                account=account,
                number=first + i,
                visitor_short_id=template.visitor_short_id,
                started_at=started,
                ends_at=ended,
                ended_at=ended,
                updated_at=ended,
                went_live=True,
                features_used=["scroll"],
                agents=template.agents,
                agent_ids=template.agent_ids,
            )
        )
    CobrowsingSession.objects.bulk_create(batch, batch_size=2000)
    Account.objects.filter(pk=account.pk).update(next_session=first + count)
    return count


# --- orchestration ---------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        import django

        django.setup()
        command, *rest = args.child
        result = {"backfill": child_backfill, "full": child_full}[command](*rest)
        print(json.dumps(result))  # noqa: T201
        return

    portal_url, backend = portal_database("upscope")
    out = print  # noqa: T202
    out(
        f"Upscope session sync benchmark on {backend}: {args.records:,} sessions, "
        f"100 per request (the sandbox's page), sandbox served by gunicorn on "
        f"127.0.0.1; load {os.getloadavg()[0]:.2f}"
    )
    small = prepare("small", args.small, portal_url)
    server = Server(small["env"])
    try:
        small_run = child(small["env"], "backfill", server.url)
    finally:
        server.stop()

    big = prepare("big", args.records, portal_url)
    out(
        f"seeded the sandbox with {args.records:,} sessions in "
        f"{big['seed_seconds']:.1f} s"
    )
    server = Server(big["env"])
    try:
        cpu = server.cpu_seconds()
        full = child(big["env"], "full", server.url)
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
        unit="sessions",
        small=args.small,
        records=args.records,
        server_cpu=server_cpu,
    )
    c = full["check"]
    out(
        f"stored {c['stored_sessions']:,} sessions of {c['vendor_sessions']:,} at "
        f"Upscope ({c['ongoing']} ongoing of {c['vendor_ongoing']}); "
        f"{c['activities']:,} activities"
    )


if __name__ == "__main__":
    main()
