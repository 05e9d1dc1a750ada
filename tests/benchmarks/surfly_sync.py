"""Surfly history sync benchmark (`make bench`). Prints figures; asserts nothing.

The Surfly sandbox is seeded with N history records and served by a real gunicorn
process on loopback; the real client pulls it over HTTP through the real sync code:

  (a) full history backfill into an empty portal database,
  (b) incremental re-sync with nothing new (requests made),
  (c) re-sync after 1% of records changed: the daily full re-scan that catches
      edits, and the incremental pull of 1% new records.

In the same run and on the same rows it measures the raw database upsert rate
(SQLite `executemany ... ON CONFLICT`; PostgreSQL `COPY` into a temporary table then
`INSERT ... ON CONFLICT`) and a naive `update_or_create` loop, and prints each as a
ratio. Peak RSS is measured in separate processes for a small and a large backfill.

Runs on SQLite by default; on PostgreSQL when DATABASE_URL is set to postgres://…
"""

from __future__ import annotations

import argparse
import json
import shutil
import time

from tests.benchmarks.harness import (  # noqa: F401 (re-exported to the others)
    PY,
    ROOT,
    WORK,
    Server,
    bench_env,
    fmt,
    free_port,
    fresh_databases,
    manage,
    peak_rss_mb,
    portal_database,
    raw_upsert,
    report_sync,
    run_child,
    run_stream,
    seeded_sandbox,
)

KEY = "sandbox-surfly-reseller-key-0001"


def prepare(tag: str, records: int, page_size: int, portal_url: str | None) -> dict:
    prepared = seeded_sandbox("surfly", tag, records, portal_url)
    child(prepared["env"], "set-page-size", str(page_size))
    return prepared


def child(env: dict, *args: str) -> dict:
    return run_child("tests.benchmarks.surfly_sync", env, *args)


# --- child side (inside Django) -----------------------------------------
def _django():
    import django

    django.setup()


def _account(base_url: str):
    from cobrowse_portal.core.models import VendorAccount, Workspace

    workspace, _ = Workspace.objects.get_or_create(
        slug="bench", defaults={"name": "Bench"}
    )
    account = VendorAccount.objects.filter(workspace=workspace, vendor="surfly").first()
    if account is None:
        account = VendorAccount(workspace=workspace, vendor="surfly", name="bench")
        account.set_credentials({"api_key": KEY})
    account.base_url = f"{base_url}/sandbox/surfly/v2"
    account.save()
    return account


def child_set_page_size(size: str) -> dict:
    from vendors.surfly.sandbox.models import Company

    Company.objects.filter(api_key=KEY).update(history_page_size=int(size))
    return {"ok": True}


def child_backfill(base_url: str) -> dict:
    account = _account(base_url)
    rss_before = peak_rss_mb()
    result = run_stream(account, "history")
    result["peak_rss_mb"] = peak_rss_mb()
    result["rss_before_mb"] = rss_before
    return result


def child_full(base_url: str) -> dict:
    account = _account(base_url)
    out = {"backfill": run_stream(account, "history")}
    out["backfill"]["peak_rss_mb"] = peak_rss_mb()
    out["nochange"] = run_stream(account, "history")
    changed = _mutate_sandbox(fraction=0.01)
    out["changed_records"] = changed
    out["rescan_after_change"] = run_stream(account, "history_full")
    appended = _append_sandbox(fraction=0.01)
    out["appended_records"] = appended
    out["incremental_after_new"] = run_stream(account, "history")
    from vendors.surfly.models import CobrowseSession

    out["raw"] = raw_upsert(CobrowseSession, account)
    out["raw_index"] = raw_upsert(CobrowseSession, account, with_activities=True)
    out["naive"] = _naive_loop(account)
    from django.db import connection

    out["vendor"] = connection.vendor
    return out


def _mutate_sandbox(fraction: float) -> int:
    """Change 1% of history records at the vendor (tags and duration)."""
    from vendors.surfly.sandbox.models import Company, SandboxSession
    from vendors.surfly.sandbox.params import tags_text
    from vendors.surfly.sandbox.records import dump_record, history_record

    company = Company.objects.get(api_key=KEY)
    qs = SandboxSession.objects.filter(
        company=company, end_time__isnull=False
    ).order_by("pk")
    total = qs.count()
    step = max(1, int(1 / fraction))
    pks = list(qs.values_list("pk", flat=True)[::step])
    batch = list(SandboxSession.objects.filter(pk__in=pks))
    for s in batch:
        s.tags = [*s.tags, "bench-changed"]
        s.tags_text = tags_text(s.tags)
        s.duration = (s.duration or 0) + 1
        s.record_json = dump_record(history_record(s))
    SandboxSession.objects.bulk_update(
        batch, ["tags", "tags_text", "duration", "record_json"], batch_size=500
    )
    return len(batch) if total else 0


def _append_sandbox(fraction: float) -> int:
    """1% new sessions at the vendor, newer than everything synced."""
    from vendors.surfly.sandbox.models import Company, SandboxSession
    from vendors.surfly.sandbox.seed import append_history

    company = Company.objects.get(api_key=KEY)
    count = int(SandboxSession.objects.filter(company=company).count() * fraction)
    append_history(company, count)
    return count


def _naive_loop(account, limit: int = 3000) -> dict:
    """`update_or_create` one row at a time (what a first draft would do)."""
    from vendors.surfly.models import CobrowseSession

    sample = list(CobrowseSession.objects.filter(account=account).values()[:limit])
    for row in sample:
        for k in ("id", "account_id", "external_id"):
            row.pop(k)
    keys = [
        s
        for s in CobrowseSession.objects.filter(account=account).values_list(
            "external_id", flat=True
        )[:limit]
    ]
    CobrowseSession.objects.filter(account=account, external_id__in=keys).delete()
    t = time.perf_counter()
    for key, row in zip(keys, sample, strict=True):
        CobrowseSession.objects.update_or_create(
            account=account, external_id=key, defaults=row
        )
    seconds = time.perf_counter() - t
    return {
        "rows": len(sample),
        "seconds": seconds,
        "records_per_second": len(sample) / seconds,
    }


# --- orchestration -----------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        _django()
        command, *rest = args.child
        result = {
            "set-page-size": child_set_page_size,
            "backfill": child_backfill,
            "full": child_full,
        }[command](*rest)
        print(json.dumps(result))  # noqa: T201
        return

    portal_url, backend = portal_database("sync")
    out = print  # noqa: T202
    out(
        f"Surfly history sync benchmark on {backend}: {args.records:,} records, "
        f"sandbox page size {args.page_size}, served by gunicorn on 127.0.0.1"
    )

    small = prepare("small", args.small, args.page_size, portal_url)
    server = Server(small["env"])
    try:
        small_run = child(small["env"], "backfill", server.url)
    finally:
        server.stop()

    big = prepare("big", args.records, args.page_size, portal_url)
    out(
        f"seeded the sandbox with {args.records:,} records "
        f"in {big['seed_seconds']:.1f} s"
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
            f"(c) full re-scan, {full['changed_records']:,} changed",
            full["rescan_after_change"],
        ),
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
        unit="records",
        small=args.small,
        records=args.records,
        server_cpu=server_cpu,
    )


if __name__ == "__main__":
    main()
