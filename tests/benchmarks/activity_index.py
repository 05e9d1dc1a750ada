"""A/B of the control room's index write (`vendorkit.activity`): the same bulk
upserts of Surfly sessions, in the same process, on the same data, with the
activity index on (the registry's sources) and off (no sources declared).
Prints figures; asserts nothing.

  python -m tests.benchmarks.activity_index --sessions 20000 --repeat 2
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/cobrowse python -m …
  … --profile on      (cProfile of the "on" runs, top functions by own time)

Each run writes the sessions into a fresh account in pages of 1,000, one
transaction per page (as the history sync commits per page): (a) backfill, then
(b) every row changed (duration, agent, tags), then (c) nothing changed. Runs
alternate off / on so machine noise falls on both. On PostgreSQL it works in
`<name>_bench_index` (derived from DATABASE_URL, dropped and recreated).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from datetime import UTC, datetime, timedelta

from tests.benchmarks.databases import derived_url, recreate
from tests.benchmarks.harness import WORK, bench_env

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PAGE = 1000


def session(i: int, *, changed: bool = False) -> dict:
    start = T0 + timedelta(minutes=7 * i)
    duration = 300 + (i * 37) % 3000 + (60 if changed else 0)
    agent = str((i + (1 if changed else 0)) % 200)
    tags = [f"t{i % 7}"] + (["changed"] if changed else [])
    row = {
        "external_id": f"sess-{i:08d}",
        "api_id": f"api-{i:08d}",
        "formatted_id": f"{i % 1000:03d}-{i // 1000:03d}-{i % 97:03d}",
        "agent_id": agent,
        "follower_link": f"https://surfly.test/follow/{i}",
        "server": "eu-1.surfly.test",
        "start_time": start,
        "end_time": start + timedelta(seconds=duration),
        "duration": duration,
        "participant_num": 2,
        "successful_start": True,
        "queued": False,
        "waiting_time": 3,
        "pin": f"{i % 10000:04d}",
        "start_url": f"https://shop.example/products/{i % 5000}?ref=bench",
        "meta": {"name": f"Visitor {i}", "email": f"v{i}@example.test"},
        "tags": tags,
        "options": {"agent_can_request_control": True},
        "is_active": False,
    }
    row["raw"] = {k: str(v) for k, v in row.items()}
    return row


def _agents(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        row = {
            "external_id": str(i),
            "name": f"Agent {i}",
            "email": f"agent{i}@example.test",
            "role": "agent",
        }
        row["raw"] = dict(row)
        rows.append(row)
    return rows


class _Off:
    """The index switched off: the registry answers "no sources" for every model."""

    def __enter__(self):
        from cobrowse_portal.vendorkit import registry

        self.saved = dict(registry._sources)
        registry._sources.clear()
        registry._sources[""] = []
        return self

    def __exit__(self, *exc):
        from cobrowse_portal.vendorkit import registry

        registry._sources.clear()
        registry._sources.update(self.saved)


class _On:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def _write(account, rows: list[dict]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process: on SQLite the database's too)."""
    from django.db import transaction

    from cobrowse_portal.vendorkit.bulk import upsert
    from vendors.surfly.models import CobrowseSession

    t, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(rows), PAGE):
        with transaction.atomic():
            upsert(CobrowseSession, account, rows[i : i + PAGE])
    return time.perf_counter() - t, time.process_time() - cpu


def _one_run(mode: str, n: int, run: int, profiler) -> dict:
    from cobrowse_portal.core.models import VendorAccount, Workspace
    from cobrowse_portal.vendorkit.bulk import upsert
    from vendors.surfly.models import SurflyAgent

    workspace, _ = Workspace.objects.get_or_create(
        slug="bench-index", defaults={"name": "Bench index"}
    )
    account = VendorAccount(workspace=workspace, vendor="surfly", name=f"{mode}-{run}")
    account.set_credentials({"api_key": "bench"})
    account.save()
    switch = _Off() if mode == "off" else _On()
    first = [session(i) for i in range(n)]
    changed = [session(i, changed=True) for i in range(n)]
    out = {}
    with switch:
        upsert(SurflyAgent, account, _agents(200))
        if profiler is not None:
            profiler.enable()
        out["backfill"] = _write(account, first)
        out["changed"] = _write(account, changed)
        out["unchanged"] = _write(account, changed)
        if profiler is not None:
            profiler.disable()
    return out


class _SqlTimes:
    """Database time per kind of statement (first words and table), "on" runs."""

    def __init__(self):
        self.times: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = sql.split()
            table = next((w for w in words if w.startswith('"')), "")
            key = f"{' '.join(words[:2])[:24]} {table}"[:60]
            key += " (joined)" if " JOIN " in sql else ""
            entry = self.times.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - t


class _timed_writes:
    """bulk.write_rows per table (PostgreSQL's COPY runs on the driver's cursor,
    which the execute wrapper does not see)."""

    def __init__(self, sql_times):
        self.sql_times = sql_times

    def __enter__(self):
        from cobrowse_portal.vendorkit import bulk

        self.original = original = bulk.write_rows
        times = self.sql_times.times

        def write_rows(model, *args, **kwargs):
            t = time.perf_counter()
            try:
                return original(model, *args, **kwargs)
            finally:
                entry = times.setdefault(f"write_rows {model._meta.db_table}", [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - t

        bulk.write_rows = write_rows
        return self

    def __exit__(self, *exc):
        from cobrowse_portal.vendorkit import bulk

        bulk.write_rows = self.original


def run(n: int, repeat: int, profile: str) -> None:
    from django.db import connection

    out = print  # noqa: T202
    sql_times = _SqlTimes()
    profiler = cProfile.Profile() if profile else None
    results: dict[str, list[dict]] = {"off": [], "on": []}
    for r in range(repeat):
        for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):
            # The first "on" run is timed per statement; with one run it is
            # also the profiled one.
            if mode == "on" and r == 0 and not (profiler and repeat == 1):
                with connection.execute_wrapper(sql_times), _timed_writes(sql_times):
                    results[mode].append(_one_run(mode, n, r, None))
                continue
            results[mode].append(
                _one_run(mode, n, r, profiler if mode == profile else None)
            )
    out(
        f"activity index A/B on {connection.vendor}: {n:,} sessions, pages of "
        f"{PAGE:,}, {repeat} run(s) each, best of runs; load {os.getloadavg()}"
    )
    out(
        f"{'step':<12}{'index off':>12}{'index on':>12}{'extra':>9}"
        f"{'CPU off':>12}{'CPU on':>12}{'extra':>9}"
    )
    for step in ("backfill", "changed", "unchanged"):
        off = min(r[step][0] for r in results["off"])
        on = min(r[step][0] for r in results["on"])
        cpu_off = min(r[step][1] for r in results["off"])
        cpu_on = min(r[step][1] for r in results["on"])
        out(
            f"{step:<12}{off:>11.2f}s{on:>11.2f}s{(on - off) / off:>9.0%}"
            f"{cpu_off:>11.2f}s{cpu_on:>11.2f}s{(cpu_on - cpu_off) / cpu_off:>9.0%}"
        )
    out("\ndatabase time of the first 'on' run, by statement:")
    for key, (count, seconds) in sorted(
        sql_times.times.items(), key=lambda kv: -kv[1][1]
    )[:25]:
        out(f"  {seconds:7.3f}s {count:6d}x  {key}")
    if profiler is not None:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(30)
        out(buf.getvalue())
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(40)
        out(buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--profile", choices=["on", "off"], default="")
    args = parser.parse_args()

    pg = os.environ.get("DATABASE_URL", "")
    if pg.startswith("postgres"):
        portal = derived_url(pg, "index")
        recreate(portal)
    else:
        WORK.mkdir(parents=True, exist_ok=True)
        for p in WORK.glob("index-*.sqlite3*"):
            p.unlink()
        portal = f"sqlite:///{WORK / 'index-portal.sqlite3'}"
    sandbox = f"sqlite:///{WORK / 'index-sandbox.sqlite3'}"
    os.environ.update(bench_env(portal, sandbox))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    try:
        run(args.sessions, args.repeat, args.profile)
    finally:
        from django.db import connections

        connections.close_all()
        if portal.startswith("postgres"):
            recreate(portal, drop_only=True)


if __name__ == "__main__":
    main()
