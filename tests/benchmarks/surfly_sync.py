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
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.benchmarks.databases import derived_url, recreate
from tests.benchmarks.harness import (  # noqa: F401 (re-exported to the others)
    PY,
    ROOT,
    WORK,
    bench_env,
    free_port,
    manage,
    run_child,
)

KEY = "sandbox-surfly-reseller-key-0001"


class Server:
    """gunicorn serving the portal (and so the sandbox) on loopback."""

    def __init__(self, env: dict) -> None:
        self.port = free_port()
        gunicorn = str(Path(PY).with_name("gunicorn"))
        self.proc = subprocess.Popen(
            [
                gunicorn,
                "cobrowse_portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "2",
                "--timeout",
                "300",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def fresh_databases(tag: str, portal_url: str | None) -> tuple[str, str]:
    WORK.mkdir(parents=True, exist_ok=True)
    for p in WORK.glob(f"{tag}-*.sqlite3*"):
        p.unlink()
    sandbox = f"sqlite:///{WORK / f'{tag}-sandbox.sqlite3'}"
    portal = portal_url or f"sqlite:///{WORK / f'{tag}-portal.sqlite3'}"
    return portal, sandbox


def prepare(tag: str, records: int, page_size: int, portal_url: str | None) -> dict:
    portal, sandbox = fresh_databases(tag, portal_url)
    if portal.startswith("postgres"):
        recreate(portal)
    env = bench_env(portal, sandbox)
    manage(env, "migrate", "--noinput")
    manage(env, "migrate", "--noinput", "--database", "sandbox")
    t = time.perf_counter()
    manage(env, "sandbox_seed", "surfly", "--size", str(records), "--reset")
    seeded = time.perf_counter() - t
    child(env, "set-page-size", str(page_size))
    return {"env": env, "seed_seconds": seeded}


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


def _run(account, stream: str) -> dict:
    from cobrowse_portal.vendorkit.runs import execute_stream

    t = time.perf_counter()
    run = execute_stream(account.pk, stream)
    seconds = time.perf_counter() - t
    if run.status != "succeeded":
        raise SystemExit(f"{stream} run failed: {run.error}")
    touched = run.created + run.updated + run.unchanged
    return {
        "seconds": seconds,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "requests": run.requests,
        "pages": run.pages,
        "records_per_second": touched / seconds if seconds else 0.0,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_set_page_size(size: str) -> dict:
    from vendors.surfly.sandbox.models import Company

    Company.objects.filter(api_key=KEY).update(history_page_size=int(size))
    return {"ok": True}


def child_backfill(base_url: str) -> dict:
    account = _account(base_url)
    rss_before = _peak_rss_mb()
    result = _run(account, "history")
    result["peak_rss_mb"] = _peak_rss_mb()
    result["rss_before_mb"] = rss_before
    return result


def child_full(base_url: str) -> dict:
    account = _account(base_url)
    out = {"backfill": _run(account, "history")}
    out["backfill"]["peak_rss_mb"] = _peak_rss_mb()
    out["nochange"] = _run(account, "history")
    changed = _mutate_sandbox(fraction=0.01)
    out["changed_records"] = changed
    out["rescan_after_change"] = _run(account, "history_full")
    appended = _append_sandbox(fraction=0.01)
    out["appended_records"] = appended
    out["incremental_after_new"] = _run(account, "history")
    out["raw"] = _raw_upsert(account)
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


def _rows(account) -> tuple[list, list[str]]:
    from django.db import connection

    from vendors.surfly.models import CobrowseSession

    fields = [f for f in CobrowseSession._meta.concrete_fields if not f.primary_key]
    rows = []
    for obj in CobrowseSession.objects.filter(account=account).iterator(
        chunk_size=2000
    ):
        values = []
        for f in fields:
            v = f.get_db_prep_save(getattr(obj, f.attname), connection)
            if isinstance(v, dict | list) or type(v).__name__ == "Jsonb":
                v = json.dumps(getattr(obj, f.attname))
            values.append(v)
        rows.append(tuple(values))
    return rows, [f.column for f in fields]


def _raw_upsert(account) -> dict:
    """The database's own upsert rate on the same rows, into a scratch copy."""
    from django.db import connection, transaction

    rows, cols = _rows(account)
    table = "surfly_cobrowsesession"
    quoted = ", ".join(f'"{c}"' for c in cols)
    updates = ", ".join(
        f'"{c}" = EXCLUDED."{c}"'
        for c in cols
        if c not in ("account_id", "external_id")
    )
    with connection.cursor() as cur:
        cur.execute('DROP TABLE IF EXISTS "bench_raw"')
        if connection.vendor == "postgresql":
            cur.execute(f'CREATE TABLE "bench_raw" (LIKE "{table}" INCLUDING ALL)')
        else:
            cur.execute("SELECT sql FROM sqlite_master WHERE name = %s", [table])
            ddl = cur.fetchone()[0]
            cur.execute(ddl.replace(f'"{table}"', '"bench_raw"', 1))
            cur.execute(
                'CREATE UNIQUE INDEX "bench_raw_u" ON "bench_raw" '
                '("account_id", "external_id")'
            )
    # Timed: every row in one transaction, commit included (the database's best
    # case; the sync itself commits after every page so a failed run resumes).
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            raw = cur.cursor  # the psycopg cursor, for COPY
            raw.execute(
                f'CREATE TEMP TABLE "bench_stage" ON COMMIT DROP AS '
                f'SELECT {quoted} FROM "{table}" WITH NO DATA'
            )
            with raw.copy(f'COPY "bench_stage" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            raw.execute(
                f'INSERT INTO "bench_raw" ({quoted}) SELECT {quoted} '
                f'FROM "bench_stage" ON CONFLICT ("account_id", "external_id") '
                f"DO UPDATE SET {updates}"
            )
            method = "COPY into a temp table + INSERT ... ON CONFLICT"
        else:
            cur.executemany(
                f'INSERT INTO "bench_raw" ({quoted}) VALUES '
                f"({', '.join(['%s'] * len(cols))}) "
                f'ON CONFLICT ("account_id", "external_id") DO UPDATE SET {updates}',
                rows,
            )
            method = "executemany INSERT ... ON CONFLICT"
    seconds = time.perf_counter() - t
    with connection.cursor() as cur:
        cur.execute('DROP TABLE "bench_raw"')
    return {
        "rows": len(rows),
        "seconds": seconds,
        "records_per_second": len(rows) / seconds,
        "method": method,
    }


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
def fmt(n: float) -> str:
    return f"{n:,.0f}"


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

    pg = os.environ.get("DATABASE_URL", "")
    portal_url = pg if pg.startswith("postgres") else None
    if portal_url:
        portal_url = derived_url(portal_url, "sync")
    backend = (
        f"PostgreSQL (database {portal_url.rsplit('/', 1)[1]}, derived from "
        "DATABASE_URL; dropped and recreated)"
        if portal_url
        else "SQLite"
    )
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
        full = child(big["env"], "full", server.url)
    finally:
        server.stop()
    shutil.rmtree(WORK, ignore_errors=True)

    raw = full["raw"]["records_per_second"]
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
    out(
        f"\n{'run':<34}{'records/s':>12}{'requests':>10}{'created':>9}{'updated':>9}"
        f"{'unchanged':>11}{'seconds':>9}"
    )
    for label, r in rows:
        out(
            f"{label:<34}{fmt(r['records_per_second']):>12}{r['requests']:>10}"
            f"{r['created']:>9}{r['updated']:>9}{r['unchanged']:>11}{r['seconds']:>9.2f}"
        )
    out(
        f"\nraw database upsert ({full['raw']['method']}): {fmt(raw)} records/s "
        f"on the same {full['raw']['rows']:,} rows"
    )
    out(
        f"naive update_or_create loop: {fmt(full['naive']['records_per_second'])} "
        f"records/s ({full['naive']['rows']:,} rows)"
    )
    ratio = full["backfill"]["records_per_second"] / raw
    out(f"backfill / raw upsert = {ratio:.0%} (target >= 40%)")
    out(f"naive loop / raw upsert = {full['naive']['records_per_second'] / raw:.1%}")
    out(f"no-change re-sync requests = {full['nochange']['requests']} (target <= 2)")
    growth = full["backfill"]["peak_rss_mb"] - small_run["peak_rss_mb"]
    out(
        f"peak RSS: {small_run['peak_rss_mb']:.0f} MB after {args.small:,} records, "
        f"{full['backfill']['peak_rss_mb']:.0f} MB after {args.records:,} "
        f"(growth {growth:.0f} MB, target < 100 MB)"
    )


if __name__ == "__main__":
    main()
