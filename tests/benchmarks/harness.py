"""What every benchmark shares: where it works, the portal's environment for its
child processes (DEBUG off, its own databases), and how it runs a child step."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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
