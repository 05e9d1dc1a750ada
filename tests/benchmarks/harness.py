"""What every benchmark shares: where it works, the portal's environment for its
child processes (DEBUG off, its own databases), and how it runs a child step."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "var" / "bench"
PY = sys.executable


def bench_env(portal_db: str, sandbox_db: str, **overrides: str) -> dict[str, str]:
    """The environment of a benchmark's portal processes: production-like
    settings, the benchmark's own databases, sandboxes on (unless overridden)."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "cobrowse_portal.settings",
            "PYTHONPATH": str(ROOT),
            "DEBUG": "false",
            "SECRET_KEY": "benchmark-only-" + "x" * 60,
            "ENCRYPTION_KEYS": "gkQp2b2mI5cH4h0jHcJ9H8hF7y6sZ1k2m3n4o5p6q7E=",
            "DATABASE_URL": portal_db,
            "SANDBOX_DATABASE_URL": sandbox_db,
            "SANDBOX_ENABLED": "true",
            "SANDBOX_RATE_LIMIT": "off",
            "VENDOR_RATE_LIMITS": "surfly=off",
            "CACHE_URL": "locmemcache://",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # The outbound policy refuses loopback unless allowed: gunicorn serves
            # the sandbox on 127.0.0.1, on a free port picked at start.
            "VENDOR_ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "VENDOR_READ_TIMEOUT": "120",
            "STATIC_ROOT": str(WORK / "static"),
            **overrides,
        }
    )
    (WORK / "static").mkdir(parents=True, exist_ok=True)
    return env


def manage(env: dict, *args: str) -> str:
    out = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return out.stdout.strip()


def run_child(module: str, env: dict, *args: str) -> dict:
    """Run `python -m module --child args…` (a step inside Django) and return the
    JSON object it prints last."""
    out = subprocess.run(
        [PY, "-m", module, "--child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"benchmark step {args[0]!r} of {module} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, every thread's, ended threads too) process
    `pid` has used (Linux /proc), or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """`root` and its direct children (gunicorn's master and its workers)."""
    pids = [root]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
            if int(rest.rsplit(")", 1)[1].split()[1]) == root:
                pids.append(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def postgres_backends(url: str):
    """A callable listing the server processes connected to `url`'s database
    (pg_stat_activity, this meter's own connection excluded), for CpuMeter."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    name = url.rsplit("/", 1)[1].split("?")[0]

    def pids() -> list[int]:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s "
            "AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
        return [pid for (pid,) in rows]

    pids.close = conn.close
    return pids


class CpuMeter:
    """CPU seconds used during a `with` block by groups of processes (each a
    callable returning the pids to count now), sampled every `every` seconds so
    a process that starts or ends during the block is counted too (up to its
    last sample). CPU time is what the machine's load does not inflate, unlike
    wall-clock latency: other sessions on the machine slow a run but add no CPU
    to its processes."""

    def __init__(self, groups: dict, every: float = 0.5) -> None:
        import threading

        self.groups, self.every = groups, every
        self.first: dict[str, dict[int, float]] = {g: {} for g in groups}
        self.last: dict[str, dict[int, float]] = {g: {} for g in groups}
        self.seconds: dict[str, float] = {}
        self.processes: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _sample(self, *, start: bool = False) -> None:
        for group, pids in self.groups.items():
            for pid in pids():
                cpu = process_cpu(pid)
                if cpu is None:
                    continue
                if start:
                    self.first[group][pid] = cpu
                self.last[group][pid] = cpu

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample(start=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        for group in self.groups:
            first, last = self.first[group], self.last[group]
            self.processes[group] = len(last)
            self.seconds[group] = sum(
                cpu - first.get(pid, 0.0) for pid, cpu in last.items()
            )


def insert_in_batches(cursor, sql: str, tag_sql: str, rows, *, every: int = 50_000):
    """SQLite seeding: `rows` yields (row, [tag rows]); both are inserted with
    executemany, one transaction per `every` rows."""
    insert_tables_in_batches(
        cursor, [sql, tag_sql], ((row, [row], tags) for row, tags in rows), every=every
    )


def insert_tables_in_batches(cursor, sqls: list[str], rows, *, every: int = 50_000):
    """SQLite seeding into several tables: `rows` yields (anything, then one list
    of rows per statement of `sqls`); executemany per statement, one transaction
    per `every` items."""
    from django.db import transaction

    batches: list[list] = [[] for _ in sqls]

    def flush():
        with transaction.atomic():
            for sql, batch in zip(sqls, batches, strict=True):
                if batch:
                    cursor.executemany(sql, batch)
                batch.clear()

    for count, (_item, *groups) in enumerate(rows, 1):
        for batch, group in zip(batches, groups, strict=True):
            batch.extend(group)
        if count % every == 0:
            flush()
    flush()


# --- what the sync benchmarks share (Surfly's history, SameSurf's analytics) -----
class Server:
    """gunicorn serving the portal (and so the sandboxes) on loopback."""

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

    def cpu_seconds(self) -> float:
        """User + system CPU used so far by the server: gunicorn's master and its
        workers (Linux /proc; 0 elsewhere)."""
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, rest = stat.read_text().split(" ", 1)
            except OSError:
                continue
            fields = rest.rsplit(")", 1)[1].split()
            if int(pid) == self.proc.pid or int(fields[1]) == self.proc.pid:
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def fresh_databases(tag: str, portal_url: str | None) -> tuple[str, str]:
    """SQLite files under WORK for the sandbox (and the portal, unless a
    PostgreSQL URL is given), emptied first."""
    WORK.mkdir(parents=True, exist_ok=True)
    for p in WORK.glob(f"{tag}-*.sqlite3*"):
        p.unlink()
    sandbox = f"sqlite:///{WORK / f'{tag}-sandbox.sqlite3'}"
    portal = portal_url or f"sqlite:///{WORK / f'{tag}-portal.sqlite3'}"
    return portal, sandbox


def run_stream(account, stream: str) -> dict:
    """Run one stream of `account` now (inside Django) and report its figures:
    wall and CPU seconds, counts, requests, pages, records per second."""
    from cobrowse_portal.celery import warm_up
    from cobrowse_portal.vendorkit.runs import execute_stream

    warm_up()  # as the worker does when it starts (not timed: not the sync's)
    profile = os.environ.get("BENCH_PROFILE")  # a path: cProfile the first run
    profiler = None
    if profile and not Path(profile).exists():
        import cProfile

        profiler = cProfile.Profile()
        # cProfile sees one thread: fetch the pages in this one, so the HTTP
        # client and the JSON decoding are in the profile too.
        from cobrowse_portal.vendorkit import pagination

        def inline(pages, depth=2):
            return pages

        pagination.prefetch = inline  # for vendor modules imported from now on
        for name, module in list(sys.modules.items()):
            if name.startswith("vendors.") and hasattr(module, "prefetch"):
                module.prefetch = inline
    t, cpu = time.perf_counter(), time.process_time()
    statements: dict[str, list[float]] = {}
    if profiler is not None:
        profiler.enable()
    with _timed_statements(statements if profiler is not None else None):
        run = execute_stream(account.pk, stream)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
        with open(f"{profile}.sql", "w") as f:  # the statements' own time
            for sql, (n, spent) in sorted(statements.items(), key=lambda i: -i[1][1]):
                f.write(f"{spent:8.3f} s {n:6d}x  {sql}\n")
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    if run.status != "succeeded":
        raise SystemExit(f"{stream} run failed: {run.error}")
    touched = run.created + run.updated + run.unchanged
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "requests": run.requests,
        "pages": run.pages,
        "records_per_second": touched / seconds if seconds else 0.0,
    }


class _timed_statements:
    """With a dict: every statement of the default connection timed, by its
    first 90 characters (with BENCH_PROFILE)."""

    def __init__(self, into: dict | None) -> None:
        self.into = into
        self.inner = None

    def __enter__(self):
        if self.into is None:
            return self
        from django.db import connection

        into = self.into

        def timer(execute, sql, params, many, context):
            t = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                key = " ".join(sql.split())[:90]
                n, spent = into.get(key, (0, 0.0))
                into[key] = (n + 1, spent + time.perf_counter() - t)

        self.inner = connection.execute_wrapper(timer)
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        if self.inner is not None:
            self.inner.__exit__(*exc)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rows(model, account) -> tuple[list, list[str]]:
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = []
    if any(f.name == "account" for f in fields):
        queryset = model.objects.filter(account=account)
    else:  # the activities' tags
        queryset = model.objects.filter(activity__account=account)
    for obj in queryset.order_by("pk").iterator(chunk_size=2000):
        values = []
        for f in fields:
            v = f.get_db_prep_save(getattr(obj, f.attname), connection)
            if isinstance(v, dict | list) or type(v).__name__ == "Jsonb":
                v = json.dumps(getattr(obj, f.attname))
            values.append(v)
        rows.append(tuple(values))
    return rows, [f.column for f in fields]


def raw_upsert(
    model, account, *, with_activities: bool = False, side: tuple = ()
) -> dict:
    """The database's own upsert rate on the rows `account` has of `model`, into
    a scratch copy of its table (SQLite `executemany ... ON CONFLICT`;
    PostgreSQL `COPY` into a temporary table then `INSERT ... ON CONFLICT`).

    `with_activities`: the same rows and, in the same transaction, the account's
    control-room activities (as stored: values only, no mapping) into a scratch
    copy of `core_activity` with its indexes, their tag rows, and on SQLite its
    FTS5 trigram table filled by one INSERT ... SELECT, plus the `side` models'
    rows the sync writes with each batch (SameSurf's recordings, Serviceform's
    messages): every row the sync stores (issue 8: vendor rows and their index
    in one transaction), written the cheapest way the database has. Only the
    derived aggregates (daily rollups, the agent directory) are left out."""
    from django.db import connection, transaction

    from cobrowse_portal.core.models import Activity, ActivityTag

    # Every copy carries its table's indexes, which every writer of the table
    # maintains (PostgreSQL's LIKE ... INCLUDING ALL always copied them; until
    # 2026-12-03 SQLite's vendor and side copies had their unique key only).
    key = ("account_id", "external_id")
    tables = [_scratch(model, account, "bench_raw", key, indexes=True)]
    for i, extra in enumerate(side):
        tables.append(_scratch(extra, account, f"bench_raw_side{i}", key, indexes=True))
    if with_activities:
        tables.append(
            _scratch(
                Activity,
                account,
                "bench_raw_act",
                ("account_id", "kind", "external_id"),
                indexes=True,
            )
        )
        tables.append(
            _scratch(
                ActivityTag,
                account,
                "bench_raw_tag",
                ("activity_id", "tag"),
                indexes=True,
            )
        )
    sqlite = connection.vendor != "postgresql"
    fts = "bench_raw_act_fts"
    if with_activities and sqlite:
        with connection.cursor() as cur:
            cur.execute(
                f'CREATE VIRTUAL TABLE "{fts}" USING fts5(search, '
                "content='bench_raw_act', content_rowid='id', tokenize='trigram')"
            )
    # Timed: every row in one transaction, commit included (the database's best
    # case; the sync itself commits after every page so a failed run resumes).
    t, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic(), connection.cursor() as cur:
        for scratch, rows, cols, key in tables:
            quoted = ", ".join(f'"{c}"' for c in cols)
            updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in cols if c not in key)
            conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
            if not sqlite:
                raw = cur.cursor  # the psycopg cursor, for COPY
                raw.execute(  # an outer transaction may hold an earlier stage
                    f'CREATE TEMP TABLE IF NOT EXISTS "stage_{scratch}" ON COMMIT '
                    f'DROP AS SELECT {quoted} FROM "{scratch}" WITH NO DATA'
                )
                raw.execute(f'TRUNCATE "stage_{scratch}"')
                with raw.copy(f'COPY "stage_{scratch}" ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                raw.execute(
                    f'INSERT INTO "{scratch}" ({quoted}) SELECT {quoted} '
                    f'FROM "stage_{scratch}" {conflict}'
                )
            else:
                cur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{scratch}"')
                low = cur.fetchone()[0]
                cur.executemany(
                    f'INSERT INTO "{scratch}" ({quoted}) VALUES '
                    f"({', '.join(['%s'] * len(cols))}) {conflict}",
                    rows,
                )
                if scratch == "bench_raw_act":
                    cur.execute(
                        f'INSERT INTO "{fts}"(rowid, search) SELECT id, search '
                        f'FROM "{scratch}" WHERE id > %s',
                        [low],
                    )
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    with connection.cursor() as cur:
        if not sqlite:  # inside an outer transaction (a test): run the deferred
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # FK checks, or no DROP
        if with_activities and sqlite:
            cur.execute(f'DROP TABLE "{fts}"')
        for scratch, *_ in tables:
            cur.execute(f'DROP TABLE "{scratch}"')
    if sqlite:
        method = "executemany INSERT ... ON CONFLICT"
        if with_activities:
            method += ", the FTS5 table by one INSERT ... SELECT"
    else:
        method = "COPY into a temp table + INSERT ... ON CONFLICT"
    by_name = {name: rows for name, rows, *_ in tables}
    return {
        "rows": len(tables[0][1]),
        "activities": len(by_name.get("bench_raw_act", ())),
        "tags": len(by_name.get("bench_raw_tag", ())),
        "side_rows": sum(len(by_name[f"bench_raw_side{i}"]) for i in range(len(side))),
        "seconds": seconds,
        # This process's CPU: on SQLite the database's own work too.
        "cpu_seconds": cpu,
        "records_per_second": len(tables[0][1]) / seconds,
        "method": method,
    }


def _scratch(model, account, name: str, key: tuple, *, indexes: bool = False):
    """An empty copy `name` of `model`'s table (PostgreSQL: with every index;
    SQLite: with the unique `key`, and with `indexes` its other indexes too) and
    the rows `account` has of `model`: (name, rows, columns, key)."""
    from django.db import connection

    rows, cols = _rows(model, account)
    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{name}"')
        if connection.vendor == "postgresql":
            cur.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING ALL)')
            # LIKE copies no foreign keys: the real table's are added, so that
            # the copy checks what the sync's writes check (SQLite's copy of
            # the DDL keeps its REFERENCES).
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            )
            for i, (_con, definition) in enumerate(cur.fetchall()):
                cur.execute(
                    f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_fk{i}" {definition}'
                )
            return name, rows, cols, key
        cur.execute("SELECT sql FROM sqlite_master WHERE name = %s", [table])
        ddl = cur.fetchone()[0]
        cur.execute(ddl.replace(f'"{table}"', f'"{name}"', 1))
        if not indexes:  # the table's own unique index on `key` comes with them
            cur.execute(
                f'CREATE UNIQUE INDEX "{name}_u" ON "{name}" '
                f"({', '.join(f'{chr(34)}{c}{chr(34)}' for c in key)})"
            )
        else:
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = %s AND sql IS NOT NULL",
                [table],
            )
            for index, sql in cur.fetchall():
                cur.execute(
                    sql.replace(f'"{index}"', f'"{name}_{index}"', 1).replace(
                        f'ON "{table}"', f'ON "{name}"', 1
                    )
                )
    return name, rows, cols, key


def fmt(n: float) -> str:
    return f"{n:,.0f}"


def portal_database(scenario: str) -> tuple[str | None, str]:
    """The portal database a sync benchmark uses: a PostgreSQL database derived from
    DATABASE_URL (`<name>_bench_<scenario>`, dropped and recreated), or None for
    SQLite files under WORK; with the sentence that says which."""
    from tests.benchmarks.databases import derived_url

    pg = os.environ.get("DATABASE_URL", "")
    if not pg.startswith("postgres"):
        return None, "SQLite"
    url = derived_url(pg, scenario)
    name = url.rsplit("/", 1)[1]
    return (
        url,
        f"PostgreSQL (database {name}, derived from DATABASE_URL; "
        "dropped and recreated)",
    )


def report_sync(
    out,
    full: dict,
    small_run: dict,
    rows: list,
    *,
    unit: str,
    small: int,
    records: int,
    server_cpu: float | None = None,
) -> None:
    """Print a vendor sync benchmark's figures: one line per run, the raw upsert
    rates of the same rows (vendor table only, and with their activities) and the
    backfill's ratio to each (by wall time, and on SQLite by CPU per row), the
    no-change re-sync's requests and peak RSS from `small` to `records`."""
    out(
        f"\n{'run':<34}{unit + '/s':>12}{'requests':>10}{'created':>9}{'updated':>9}"
        f"{'unchanged':>11}{'seconds':>9}{'cpu s':>8}"
    )
    for label, r in rows:
        out(
            f"{label:<34}{fmt(r['records_per_second']):>12}{r['requests']:>10}"
            f"{r['created']:>9}{r['updated']:>9}{r['unchanged']:>11}"
            f"{r['seconds']:>9.2f}{r['cpu_seconds']:>8.2f}"
        )
    if server_cpu is not None:
        out(f"sandbox server CPU over all runs: {server_cpu:.1f} s")
    raw = full["raw"]["records_per_second"]
    backfill = full["backfill"]
    out(
        f"\nraw database upsert ({full['raw']['method']}): {fmt(raw)} {unit}/s "
        f"on the same {full['raw']['rows']:,} rows"
    )
    ratio = backfill["records_per_second"] / raw
    out(f"backfill / raw upsert = {ratio:.0%} (target >= 40%)")
    both = full["raw_index"]
    out(
        f"raw database upsert with the index ({both['method']}): "
        f"{fmt(both['records_per_second'])} {unit}/s, the same rows, their "
        f"{both['activities']:,} activities and {both['tags']:,} tag rows"
        + (f", {both['side_rows']:,} side rows" if both["side_rows"] else "")
        + " in the same transaction: every row the sync stores"
    )
    out(
        f"backfill / raw upsert with the index = "
        f"{backfill['records_per_second'] / both['records_per_second']:.0%}"
    )
    if full["vendor"] == "sqlite":  # the database's CPU is this process's: robust
        touched = backfill["created"] + backfill["updated"] + backfill["unchanged"]
        per = backfill["cpu_seconds"] / touched  # to the machine's load
        for name, r in (("raw", full["raw"]), ("raw with the index", both)):
            raw_per = r["cpu_seconds"] / r["rows"]
            out(
                f"by CPU: backfill / {name} = {raw_per / per:.0%} "
                f"({per * 1e6:.0f} against {raw_per * 1e6:.0f} us of CPU a row)"
            )
    if "naive" in full:
        out(
            f"naive update_or_create loop: {fmt(full['naive']['records_per_second'])} "
            f"{unit}/s ({full['naive']['rows']:,} rows), "
            f"{full['naive']['records_per_second'] / raw:.1%} of raw"
        )
    out(f"no-change re-sync requests = {full['nochange']['requests']} (target <= 2)")
    growth = backfill["peak_rss_mb"] - small_run["peak_rss_mb"]
    out(
        f"peak RSS: {small_run['peak_rss_mb']:.0f} MB after {small:,} {unit}, "
        f"{backfill['peak_rss_mb']:.0f} MB after {records:,} "
        f"(growth {growth:.0f} MB, target < 100 MB)"
    )
    out(f"load at the end {os.getloadavg()[0]:.2f}")


def seeded_sandbox(vendor: str, tag: str, records: int, portal_url: str | None) -> dict:
    """Fresh portal and sandbox databases for a vendor sync benchmark, migrated,
    with the vendor's sandbox seeded with `records`: the child processes' env and
    the seeding time."""
    from tests.benchmarks.databases import recreate

    portal, sandbox = fresh_databases(f"{vendor}-{tag}", portal_url)
    if portal.startswith("postgres"):
        recreate(portal)
    env = bench_env(portal, sandbox)
    manage(env, "migrate", "--noinput")
    manage(env, "migrate", "--noinput", "--database", "sandbox")
    t = time.perf_counter()
    manage(env, "sandbox_seed", vendor, "--size", str(records), "--reset")
    return {"env": env, "seed_seconds": time.perf_counter() - t}


def bench_account(vendor: str, base_url: str, credentials: dict | None = None):
    """The benchmark workspace's account of `vendor`, pointed at the sandbox served
    at `base_url` (created once with the spec's reseller demo credentials, or
    `credentials`). Child side: Django is set up."""
    from cobrowse_portal.core.models import VendorAccount, Workspace
    from cobrowse_portal.vendorkit import registry

    spec = registry.get(vendor)
    workspace, _ = Workspace.objects.get_or_create(
        slug="bench", defaults={"name": "Bench"}
    )
    account = VendorAccount.objects.filter(workspace=workspace, vendor=vendor).first()
    if account is None:
        account = VendorAccount(workspace=workspace, vendor=vendor, name="bench")
        account.set_credentials(
            credentials or spec.sandbox_demo_credentials["reseller"]
        )
    account.base_url = f"{base_url}{spec.sandbox_path}"
    account.save()
    return account
