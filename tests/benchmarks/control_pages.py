"""The control room at a million activities (`make bench BENCH=control`).
Prints figures next to their targets; asserts nothing.

Seeds 1,000,000 activities over 3 workspaces, 5 vendors (one account each per
workspace; four of the slugs have no vendor app yet, which the pages tolerate)
and 200 agents, with the tag index, daily usage rollups and the open rows Live
shows (COPY on PostgreSQL, executemany in big transactions on SQLite); reused
while the size matches. Then, in one run: the Activity page (first page, by
agent, by vendor + date range, the 500th page by keyset, text search), Live,
Dashboard, Usage, and the Django admin changelist of the same table as the
reference; p50/p95 and queries per page, with a check that no page's SQL counts
the index or uses OFFSET. Then the CSV export of all 1,000,000 rows (the three
workspaces' exports one after another): rows/s and peak RSS growth.

Databases: PostgreSQL `<name>_bench_control` (from DATABASE_URL), else SQLite
var/bench/control-portal.sqlite3.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from tests.benchmarks.databases import derived_url
from tests.benchmarks.harness import (
    WORK,
    bench_env,
    insert_in_batches,
    manage,
    run_child,
)
from tests.benchmarks.surfly_pages import pct

VENDORS = ["surfly", "samesurf", "upscope", "serviceform", "smartsupp"]
WORKSPACES = 3
AGENTS = 200
LIVE_PER_WS = 150
SPAN_DAYS = 400
WORDS = ["checkout", "billing", "onboarding", "refund", "pricing", "login", "cart"]
TARGETS = {"list": 30, "search": 100, "dashboard": 50}


def database_url(given: str | None) -> str:
    WORK.mkdir(parents=True, exist_ok=True)
    if given and given.startswith("postgres"):
        return derived_url(given, "control")
    return f"sqlite:///{WORK / 'control-portal.sqlite3'}"


def ensure_postgres(url: str) -> None:
    import psycopg

    root, name = url.rsplit("/", 1)
    with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


# --- child side (Django loaded) -----------------------------------------------------
def _django():
    import django

    django.setup()
    from django.test.utils import override_settings

    # Plain static storage: the benchmark does not need collectstatic's manifest.
    override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
            },
        }
    ).enable()


def _workspaces():
    from cobrowse_portal.core.models import Workspace

    return list(Workspace.objects.filter(slug__startswith="bench-cr-").order_by("pk"))


def child_seed(n: int) -> dict:
    _django()
    from django.db import connection, transaction

    from cobrowse_portal.core.models import (
        Activity,
        ActivityTag,
        AgentIdentity,
        UsageDay,
        UsageDayAgent,
        VendorAccount,
        Workspace,
    )

    last = (
        Activity.objects.filter(workspace__slug__startswith="bench-cr-")
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if last == n and Activity.objects.filter(pk=1).exists():
        return {"seeded": False}
    t0 = time.perf_counter()
    Workspace.objects.filter(slug__startswith="bench-cr-").delete()
    accounts, agents = [], []
    for w in range(WORKSPACES):
        ws = Workspace.objects.create(name=f"Bench CR {w}", slug=f"bench-cr-{w}")
        made = []
        for vendor in VENDORS:
            a = VendorAccount(
                workspace=ws, vendor=vendor, name=f"{vendor} desk {w}", base_url="x"
            )
            a.set_credentials({"api_key": "bench"})
            made.append(a)
        accounts.append(VendorAccount.objects.bulk_create(made))  # no schedules
        agents.append(
            AgentIdentity.objects.bulk_create(
                AgentIdentity(
                    workspace=ws, email=f"agent{i}@ws{w}.example", name=f"Agent {i}"
                )
                for i in range(w, AGENTS, WORKSPACES)
            )
        )
    rng = random.Random(11)
    now = datetime.now(UTC).replace(microsecond=0)
    pg = connection.vendor == "postgresql"
    step = SPAN_DAYS * 86400 / (n / WORKSPACES)
    cols = [
        "id", "workspace_id", "account_id", "vendor", "kind", "external_id",
        "status", "started_at", "ended_at", "duration", "agent_id",
        "agent_external_id", "agent_name", "visitor", "url", "title", "tags", "link",
        "search", "counted_day", "counted_seconds", "updated_at", "removed_at",
    ]  # fmt: skip
    usage = defaultdict(lambda: [0, 0, set()])

    def ts(value):
        if value is None:
            return None
        return value if pg else value.replace(tzinfo=None).isoformat(" ")

    def rows():
        for i in range(1, n + 1):
            w = i % WORKSPACES
            age = (n - i) // WORKSPACES
            start = now - timedelta(seconds=age * step + rng.randint(0, 20))
            account = accounts[w][rng.randrange(len(VENDORS))]
            agent = rng.choice(agents[w]) if rng.random() < 0.9 else None
            live = age < LIVE_PER_WS
            duration = None if live else rng.randint(20, 3600)
            word = rng.choice(WORDS)
            tags = [word] if rng.random() < 0.2 else []
            if i % 50_000 == 0:
                tags.append(f"rare-{i}")
            visitor = f"visitor-{rng.randint(0, 99999):05d}"
            url = f"https://shop{w}.example.com/{word}/{i}"
            title = f"{word.title()} help"
            name = agent.name if agent else ""
            search = " ".join([name.lower(), visitor, url, title.lower(), *tags])
            day = start.date()
            if not live:
                u = usage[(w, account.pk, account.vendor, day)]
                u[0] += 1
                u[1] += duration
                if agent:
                    u[2].add(agent.pk)
            yield (
                i, account.workspace_id, account.pk, account.vendor, "cobrowse",
                f"x{i}", "live" if live else "ended", ts(start),
                None if live else ts(start + timedelta(seconds=duration)), duration,
                agent.pk if agent else None, str(agent.pk) if agent else "", name,
                visitor, url, title, json.dumps(tags), f"/v/{account.vendor}/x/{i}/",
                search, None if live else day, duration or 0, ts(now), None,
            ), [(account.workspace_id, i, t) for t in tags]  # fmt: skip

    table, tag_table = Activity._meta.db_table, ActivityTag._meta.db_table
    with connection.cursor() as cursor:
        if pg:
            raw = cursor.cursor
            with transaction.atomic():
                tag_rows = []
                with raw.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row, tags in rows():
                        copy.write_row(row)
                        tag_rows.extend(tags)
                with raw.copy(
                    f"COPY {tag_table} (workspace_id, activity_id, tag) FROM STDIN"
                ) as copy:
                    for row in tag_rows:
                        copy.write_row(row)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [n]
                )
        else:
            sql = (
                f"INSERT INTO {table} ({', '.join(cols)}) "
                f"VALUES ({', '.join(['%s'] * len(cols))})"
            )
            tag_sql = (
                f"INSERT INTO {tag_table} (workspace_id, activity_id, tag) "
                "VALUES (%s, %s, %s)"
            )
            insert_in_batches(cursor, sql, tag_sql, rows())
    ws_pk = {w: accounts[w][0].workspace_id for w in range(WORKSPACES)}
    UsageDay.objects.bulk_create(
        (
            UsageDay(
                workspace_id=ws_pk[w],
                account_id=acc,
                vendor=vendor,
                day=day,
                activities=u[0],
                seconds=u[1],
                agents=len(u[2]),
            )
            for (w, acc, vendor, day), u in usage.items()
        ),
        batch_size=5000,
    )
    recent = now.date() - timedelta(days=30)
    UsageDayAgent.objects.bulk_create(
        (
            UsageDayAgent(account_id=acc, day=day, agent_key=str(a))
            for (w, acc, vendor, day), u in usage.items()
            if day >= recent
            for a in u[2]
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"seeded": True, "seconds": round(time.perf_counter() - t0, 1)}


def _manager(ws):
    from django.contrib.auth import get_user_model

    from cobrowse_portal.core.models import Membership

    user, _ = get_user_model().objects.get_or_create(username="bench-cr-manager")
    Membership.objects.get_or_create(
        user=user, workspace=ws, defaults={"role": "manager"}
    )
    return user


def _time(client, path: str, repeat: int) -> dict:
    """Server time per request: wall clock (the target) and this process's CPU
    time, which other processes on a shared machine do not inflate."""
    for _ in range(3):
        assert client.get(path).status_code == 200, path
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return {
        "p50": statistics.median(wall),
        "p95": pct(wall, 95),
        "cpu_p95": pct(cpu, 95),
    }


def _queries(client, path: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(path)
    sql = [q["sql"].upper() for q in ctx.captured_queries]
    return {
        "queries": len(sql),
        "count": any("COUNT(" in s and "CORE_ACTIVITY" in s for s in sql),
        "offset": any(" OFFSET " in s for s in sql),
    }


def child_pages(repeat: int) -> dict:
    import html
    import re

    _django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from cobrowse_portal.core.models import AgentIdentity

    ws = _workspaces()[0]
    client = Client()
    client.force_login(_manager(ws))
    # The manager's current workspace: the first one (lowest pk) it belongs to.
    activity = reverse("core:activity")
    agent = AgentIdentity.objects.filter(workspace=ws).order_by("pk")[5]
    until = datetime.now(UTC).date()
    since = until - timedelta(days=14)
    url = activity
    for _ in range(499):  # walk to the 500th page through the keyset links
        body = client.get(url).content.decode()
        found = re.search(r'class="pager".*?href="\?([^"]*after=[^"]*)"', body, re.S)
        if not found:  # a small seed: the last page
            break
        url = activity + "?" + html.unescape(found.group(1))
    pages = {
        "activity first page": (activity, "list"),
        "activity by agent": (f"{activity}?agent={agent.pk}", "list"),
        "activity vendor + 14 days": (
            f"{activity}?vendor=upscope&since={since}&until={until}",
            "list",
        ),
        "activity 500th page (keyset)": (url, "list"),
        "activity rare tag": (f"{activity}?tag=rare-300000", "list"),
        "search common word": (f"{activity}?q=refund", "search"),
        "search a visitor": (f"{activity}?q=visitor-04242", "search"),
        "live": (reverse("core:live"), "list"),
        "dashboard": (reverse("core:dashboard"), "dashboard"),
        "usage (30 days, per day)": (reverse("core:usage"), "dashboard"),
        "usage (1 year, per week)": (
            reverse("core:usage")
            + f"?since={until - timedelta(days=365)}&until={until}&period=week",
            "dashboard",
        ),
    }
    figures = {}
    for name, (path, kind) in pages.items():
        figures[name] = {**_time(client, path, repeat), "kind": kind}
        figures[name].update(_queries(client, path))
    root, _ = get_user_model().objects.get_or_create(
        username="bench-cr-root", defaults={"is_staff": True, "is_superuser": True}
    )
    admin = Client()
    admin.force_login(root)
    changelist = reverse("admin:core_activity_changelist")
    figures["admin changelist (reference)"] = {
        **_time(admin, changelist, max(5, repeat // 4)),
        "kind": "admin",
        **_queries(admin, changelist),
    }
    return figures


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_csv() -> dict:
    _django()
    from django.test import Client
    from django.urls import reverse

    from cobrowse_portal.core.models import Membership

    user = None
    rows, t0 = 0, None
    before = None
    for ws in _workspaces():
        user = _manager(ws)
        Membership.objects.filter(user=user).exclude(workspace=ws).delete()
        client = Client()
        client.force_login(user)
        response = client.get(reverse("core:activity_csv"))
        if before is None:
            before, t0 = _rss_mb(), time.perf_counter()
        for chunk in response.streaming_content:
            rows += chunk.count(b"\n")
        rows -= 1  # the header
    seconds = time.perf_counter() - t0
    Membership.objects.filter(user=user).delete()
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "rss_growth_mb": round(_rss_mb() - before, 1),
    }


CHILDREN = {
    "seed": lambda a: child_seed(int(a[0])),
    "pages": lambda a: child_pages(int(a[0])),
    "csv": lambda a: child_csv(),
}


def child(env: dict, *args: str) -> dict:
    return run_child("tests.benchmarks.control_pages", env, *args)


out = print  # noqa: T202  (a benchmark prints its figures)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        out(json.dumps(CHILDREN[sys.argv[2]](sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-csv", action="store_true")
    args = parser.parse_args()
    portal = database_url(os.environ.get("DATABASE_URL"))
    if portal.startswith("postgres"):
        ensure_postgres(portal)
    env = bench_env(portal, f"sqlite:///{WORK / 'control-sandbox.sqlite3'}")
    env.update(
        {
            "SANDBOX_ENABLED": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "SECURE_COOKIES": "false",
            # Persistent connections, as in production and the other page
            # benchmarks: not a new PostgreSQL connection (~5 ms) per request.
            "CONN_MAX_AGE": "60",
        }
    )
    out(f"Control room benchmark: {args.activities:,} activities, {WORKSPACES} "
        f"workspaces, {len(VENDORS)} vendors, {AGENTS} agents")  # fmt: skip
    out(f"  portal database: {portal}")
    manage(env, "migrate", "--noinput")
    seeded = child(env, "seed", str(args.activities))
    out(f"  seeded in {seeded['seconds']} s" if seeded["seeded"] else "  reused")
    out(f"  load: {uptime()}")
    figures = child(env, "pages", str(args.repeat))
    ref = figures["admin changelist (reference)"]["p95"]
    out(f"\nPages, in-process, {args.repeat} requests each (one workspace of "
        f"{args.activities // WORKSPACES:,} rows)")  # fmt: skip
    for name, f in figures.items():
        target = TARGETS.get(f["kind"])
        mark = ""
        if target:
            fast = ref / f["p95"] if f["p95"] else float("inf")
            ok = f["p95"] <= target and fast >= 10
            mark = f"target {target} ms, {fast:5.0f}x admin  {'ok' if ok else 'MISSED'}"
        flags = ("COUNT! " if f["count"] else "") + ("OFFSET! " if f["offset"] else "")
        out(f"  {name:30s} p50 {f['p50']:6.1f}  p95 {f['p95']:6.1f} ms  "
            f"(cpu p95 {f['cpu_p95']:5.1f})  "
            f"{f['queries']:2d} queries {flags} {mark}")  # fmt: skip
    if not args.no_csv:
        c = child(env, "csv")
        ok = c["rows_per_s"] >= 50_000 and c["rss_growth_mb"] < 100
        out(f"\nCSV export of {c['rows']:,} rows: {c['seconds']} s, "
            f"{c['rows_per_s']:,} rows/s, peak RSS growth {c['rss_growth_mb']} MB "
            f"(>= 50,000 rows/s, < 100 MB) {'ok' if ok else 'MISSED'}")  # fmt: skip
    out(f"  {uptime()}")


if __name__ == "__main__":
    main()
