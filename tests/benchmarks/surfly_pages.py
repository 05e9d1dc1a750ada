"""Surfly pages at a million sessions (`make bench BENCH=pages|admin|load`).
Prints figures next to their targets; asserts nothing.

  pages  in-process p50/p95 of every Surfly list (history: first page, next page,
         filtered, a rare PIN, a tag matching nothing, a rare and a common tag;
         live; agents; the dashboard), N requests each after a warm-up.
  admin  the Django admin sessions changelist: first page, filtered, searched,
         page 50.
  load   gunicorn (4 workers) on loopback and a thread-per-user load generator
         (http.client, logged-in session cookies made directly in the database):
         (a) 50 users, no think time; (b) 100 users who each poll Live every 5 s
         and open another page every 15 s. requests/s, p50/p95/p99 per page,
         errors.

The database is seeded once with --sessions rows in one account (COPY on
PostgreSQL, executemany in big transactions on SQLite) and reused while the size
matches: re-running is cheap. Its name derives from DATABASE_URL (PostgreSQL:
<name>_pages; default: SQLite var/bench/pages-portal.sqlite3) and is printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.benchmarks.harness import (
    PY,
    ROOT,
    WORK,
    CpuMeter,
    bench_env,
    free_port,
    insert_tables_in_batches,
    manage,
    postgres_backends,
    process_tree,
    run_child,
)

SLUG = "bench-pages"
COMMON_TAGS = [f"topic-{i}" for i in range(20)]
AGENTS = 25
LIVE = 300
TARGET_MS = 30


def database_urls(given: str | None) -> tuple[str, str]:
    WORK.mkdir(parents=True, exist_ok=True)
    sandbox = f"sqlite:///{WORK / 'pages-sandbox.sqlite3'}"
    if given and given.startswith("postgres"):
        base, _, name = given.rpartition("/")
        name = name.split("?")[0]
        return f"{base}/{name}_pages", sandbox
    return f"sqlite:///{WORK / 'pages-portal.sqlite3'}", sandbox


def ensure_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# --- child side (Django loaded) -----------------------------------------------------
def _django():
    import django

    django.setup()


def _workspace():
    from cobrowse_portal.core.models import VendorAccount, Workspace

    ws, _ = Workspace.objects.get_or_create(slug=SLUG, defaults={"name": "Bench"})
    account = VendorAccount.objects.filter(workspace=ws, vendor="surfly").first()
    if account is None:
        account = VendorAccount(
            workspace=ws, vendor="surfly", name="Bench", base_url="https://x.test/v2"
        )
        account.set_credentials({"api_key": "bench-key"})
        account.save()
    return ws, account


def child_seed(n: int) -> dict:
    """Seed `n` sessions (skipped when already there), agents, and the control
    room's index of the sessions with its tag table (the history tag filter's)."""
    _django()
    from django.db import connection, transaction

    from cobrowse_portal.core.models import Activity, ActivityTag
    from vendors.surfly.models import CobrowseSession, SurflyAgent

    ws, account = _workspace()
    have = CobrowseSession.objects.filter(account=account).count()
    if (
        have == n
        and Activity.objects.filter(account=account).count() == n
        and ActivityTag.objects.filter(tag__startswith="rare-").exists()
    ):
        return {"seeded": False, "sessions": have}
    t0 = time.perf_counter()
    Activity.objects.filter(account=account).delete()
    CobrowseSession.objects.all().delete()
    SurflyAgent.objects.filter(account=account).delete()
    SurflyAgent.objects.bulk_create(
        SurflyAgent(
            account=account,
            external_id=str(1000 + i),
            name=f"Agent {i:02d}",
            email=f"agent{i}@example.com",
            is_free=i % 3 == 0,
        )
        for i in range(AGENTS)
    )
    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    pg = connection.vendor == "postgresql"
    cols = [
        "id", "account_id", "external_id", "raw", "fingerprint", "synced_at",
        "removed_at", "api_id", "formatted_id", "agent_id", "follower_link",
        "leader_link", "server", "start_time", "end_time", "duration",
        "participant_num", "successful_start", "queued", "waiting_time", "pin",
        "start_url", "meta", "tags", "options", "is_active", "last_event_sequence",
    ]  # fmt: skip
    act_cols = [
        "id", "workspace_id", "account_id", "vendor", "kind", "external_id",
        "status", "started_at", "ended_at", "duration", "agent_external_id",
        "agent_name", "visitor", "url", "title", "tags", "link", "search",
        "counted_day", "counted_seconds", "updated_at", "removed_at",
    ]  # fmt: skip

    def ts(value):
        if value is None:
            return None
        return value if pg else value.replace(tzinfo=None).isoformat(" ")

    def rows():
        for i in range(1, n + 1):
            age = n - i  # id order follows time order, newest last
            start = now - timedelta(seconds=age * 30 + rng.randint(0, 20))
            active = age < LIVE
            duration = None if active else rng.randint(20, 4000)
            tags = []
            if rng.random() < 0.5:
                tags.append(rng.choice(COMMON_TAGS))
            if i % max(1, n // 10) == 0:
                tags.append(f"rare-{i}")
            ext = f"s{i:08d}"
            raw = {
                "session_id": ext,
                "id": i,
                "agent_id": 1000 + i % AGENTS,
                "start_url": f"https://shop.example.com/p/{i}",
                "tags": tags,
                "options": {"video": True, "chat": True, "docked_only": False},
                "meta": {"customer": f"c{i}", "plan": "pro", "notes": "x" * 200},
                "participants": [{"name": "Visitor", "role": "follower"}],
            }
            end = None if active else start + timedelta(seconds=duration)
            session = (
                i, account.pk, ext, json.dumps(raw), "", ts(now), None, f"a{i}",
                f"{i // 1000000:03d}-{i // 1000 % 1000:03d}-{i % 1000:03d}",
                str(1000 + i % AGENTS), f"https://surfly.test/{ext}/follow", "",
                "eu-1", ts(start), ts(end), duration, 2, True, False, 3,
                f"{rng.randint(0, 999999):06d}", f"https://shop.example.com/p/{i}",
                json.dumps(raw["meta"]), json.dumps(tags), json.dumps(
                    raw["options"]), active, None,
            )  # fmt: skip
            url = f"https://shop.example.com/p/{i}"
            act = (
                i, ws.pk, account.pk, "surfly", "cobrowse", ext,
                "live" if active else "ended", ts(start), ts(end), duration,
                str(1000 + i % AGENTS), "", "", url, session[8], json.dumps(tags),
                f"/surfly/{account.pk}/sessions/{i}/",
                " ".join([url, session[8], *tags]).lower(),
                start.date() if pg else start.date().isoformat(), duration or 0,
                ts(now), None,
            )  # fmt: skip
            yield session, [session], [act], [(ws.pk, i, t.lower()) for t in tags]

    table = CobrowseSession._meta.db_table
    act_table = Activity._meta.db_table
    tag_table = ActivityTag._meta.db_table

    def insert(name, columns):
        marks = ", ".join(["%s"] * len(columns))
        return f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})"

    tag_cols = ["workspace_id", "activity_id", "tag"]
    tables = [(table, cols), (act_table, act_cols), (tag_table, tag_cols)]
    with connection.cursor() as cursor:
        if pg:
            raw_cursor = cursor.cursor
            with transaction.atomic():
                later: list[list] = [[], []]
                with raw_cursor.copy(
                    f"COPY {table} ({', '.join(cols)}) FROM STDIN"
                ) as copy:
                    for _session, _rows, acts, tags in rows():
                        copy.write_row(_rows[0])
                        later[0].extend(acts)
                        later[1].extend(tags)
                for (name, columns), group in zip(tables[1:], later, strict=True):
                    with raw_cursor.copy(
                        f"COPY {name} ({', '.join(columns)}) FROM STDIN"
                    ) as copy:
                        for row in group:
                            copy.write_row(row)
                for name in (table, act_table):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), %s)",
                        [n],
                    )
            for name, _columns in tables:
                cursor.execute(f"ANALYZE {name}")
        else:
            insert_tables_in_batches(
                cursor, [insert(name, columns) for name, columns in tables], rows()
            )
            cursor.execute("ANALYZE")
    return {
        "seeded": True,
        "sessions": n,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _manager(name="bench-manager"):
    from django.contrib.auth import get_user_model

    from cobrowse_portal.core.models import Membership

    ws, account = _workspace()
    user, _ = get_user_model().objects.get_or_create(username=name)
    Membership.objects.get_or_create(
        user=user, workspace=ws, defaults={"role": "admin"}
    )
    return user, account


def _time(client, path: str, repeat: int) -> dict:
    for _ in range(3):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return {"p50": statistics.median(times), "p95": pct(times, 95)}


def child_pages(repeat: int) -> dict:
    _django()
    from django.test import Client
    from django.urls import reverse

    from cobrowse_portal.core.models import ActivityTag
    from vendors.surfly.models import CobrowseSession

    user, account = _manager()
    client = Client()
    client.force_login(user)
    history = reverse("surfly:history", args=[account.pk])
    rare_pin = (
        CobrowseSession.objects.filter(account=account)
        .order_by("pk")
        .values_list("pin", flat=True)[12345]
    )
    rare_tag = ActivityTag.objects.filter(tag__startswith="rare-").first().tag
    import html
    import re

    body = client.get(history).content.decode()
    next_url = html.unescape(re.search(r'href="(\?[^"]*after=[^"]*)"', body).group(1))
    pages = {
        "history first page": history,
        "history next page": history + next_url,
        "history agent filter": history + "?agent=1003",
        "history ended + duration": history + "?active_session=false&min_duration=600",
        "history date range": history + "?since=2000-01-01&until=2100-01-01",
        "history rare PIN": history + f"?pin={rare_pin}",
        "history tag matching nothing": history + "?tags=no-such-tag",
        "history rare tag": history + f"?tags={rare_tag}",
        "history common tag": history + "?tags=topic-3",
        "live": reverse("surfly:live", args=[account.pk]),
        "agents": reverse("surfly:agents", args=[account.pk]),
        "dashboard": reverse("core:dashboard"),
    }
    return {name: _time(client, path, repeat) for name, path in pages.items()}


def child_admin(repeat: int) -> dict:
    _django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    user, _ = get_user_model().objects.get_or_create(
        username="bench-root", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    url = reverse("admin:surfly_cobrowsesession_changelist")
    pages = {
        "first page": url,
        "filtered (ended, successful)": url
        + "?is_active__exact=0&successful_start__exact=1",
        "searched (exact session id)": url + "?q=s00123456",
        "page 50": url + "?p=49",
    }
    return {
        name: _time(client, path, max(5, repeat // 4)) for name, path in pages.items()
    }


def child_users(count: int) -> dict:
    """`count` load users with logged-in sessions, created in the database."""
    _django()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.urls import reverse

    cookies = []
    for i in range(count):
        user, account = _manager(f"bench-load-{i:03d}")
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={store.session_key}")
    return {
        "cookies": cookies,
        "pages": {
            "dashboard": reverse("core:dashboard"),
            "live": reverse("surfly:live", args=[account.pk]),
            "history": reverse("surfly:history", args=[account.pk]),
            "agents": reverse("surfly:agents", args=[account.pk]),
        },
    }


CHILDREN = {
    "seed": lambda a: child_seed(int(a[0])),
    "pages": lambda a: child_pages(int(a[0])),
    "admin": lambda a: child_admin(int(a[0])),
    "users": lambda a: child_users(int(a[0])),
}


def child(env: dict, *args: str) -> dict:
    return run_child("tests.benchmarks.surfly_pages", env, *args)


# --- load -------------------------------------------------------------------------
class Gunicorn:
    """gunicorn on loopback: `sync` is the issue's reference set-up (4 sync
    workers); `production` is what `make run` and production start
    (cobrowse_portal/gunicorn_conf.py: gthread, 2 workers x 4 threads)."""

    def __init__(self, env: dict, server: str = "sync") -> None:
        self.port = free_port()
        how = (
            ["--workers", "4"]
            if server == "sync"
            else ["-c", "python:cobrowse_portal.gunicorn_conf"]
        )
        self.label = (
            "gunicorn 4 sync workers"
            if server == "sync"
            else "gunicorn production conf (gthread 2 x 4)"
        )
        self.proc = subprocess.Popen(
            [
                str(Path(PY).with_name("gunicorn")), "cobrowse_portal.wsgi",
                "--bind", f"127.0.0.1:{self.port}", *how,
                "--timeout", "60", "--log-level", "warning",
            ],
            cwd=ROOT, env=env,
        )  # fmt: skip
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _get(port: int, path: str, cookie: str) -> tuple[float, bool]:
    t = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
        response = conn.getresponse()
        response.read()
        conn.close()
        ok = response.status == 200
    except OSError:
        ok = False
    return (time.perf_counter() - t) * 1000, ok


def run_load(port, users, pages, cookies, seconds, paced) -> dict:
    """Closed loop (no think time) or paced users; per page latencies."""
    lat: dict[str, list[float]] = {name: [] for name in pages}
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    names = list(pages)
    others = [n for n in names if n != "live"]

    def record(name, ms, ok):
        with lock:
            lat[name].append(ms)
            if not ok:
                errors[0] += 1

    def user(i):
        rng = random.Random(i)
        cookie = cookies[i % len(cookies)]
        if not paced:
            k = i
            while time.perf_counter() < stop:
                name = names[k % len(names)]
                k += 1
                record(name, *_get(port, pages[name], cookie))
            return
        start = time.perf_counter()
        next_live = start + rng.uniform(0, 5)
        next_page = start + rng.uniform(0, 15)
        while True:
            due = min(next_live, next_page)
            if due >= stop:
                return
            time.sleep(max(0.0, due - time.perf_counter()))
            if due == next_live:
                record("live", *_get(port, pages["live"], cookie))
                next_live += 5
            else:
                name = rng.choice(others)
                record(name, *_get(port, pages[name], cookie))
                next_page += 15

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    total = sum(len(v) for v in lat.values())
    every = [ms for v in lat.values() for ms in v]
    return {
        "requests": total,
        "rps": total / elapsed,
        "errors": errors[0],
        "p95_all": pct(every, 95),
        "pages": {
            n: {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95), "p99": pct(v, 99)}
            for n, v in lat.items()
        },
    }


out = print  # noqa: T202  (a benchmark prints its figures)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _print_table(title: str, figures: dict, target: float) -> None:
    out(f"\n{title}  (target p95 <= {target:.0f} ms)")
    for name, f in figures.items():
        mark = "ok" if f["p95"] <= target else "MISSED"
        out(f"  {name:32s} p50 {f['p50']:7.1f} ms   p95 {f['p95']:7.1f} ms   {mark}")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        out(json.dumps(CHILDREN[sys.argv[2]](sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="pages,admin,load")
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument(
        "--server",
        choices=("sync", "production"),
        default="sync",
        help="load: 4 sync workers (the issue's set-up) or the production "
        "gunicorn_conf.py (gthread 2 x 4)",
    )
    args = parser.parse_args()
    scenarios = [s.strip() for s in args.scenario.split(",") if s.strip()]

    portal, sandbox = database_urls(os.environ.get("DATABASE_URL"))
    if portal.startswith("postgres"):
        ensure_postgres(portal)
    env = bench_env(portal, sandbox)
    env.update(
        {
            "SANDBOX_ENABLED": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "CONN_MAX_AGE": "60",
            "SECURE_COOKIES": "false",
        }
    )
    out(f"Surfly pages benchmark: {args.sessions:,} sessions in one account")
    out(f"  portal database: {portal}")
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v0")  # DEBUG off: hashed names
    seeded = child(env, "seed", str(args.sessions))
    if seeded["seeded"]:
        out(f"  seeded in {seeded['seconds']} s")
    else:
        out("  reused the seeded database (same size)")
    out(f"  load: {uptime()}")

    if "pages" in scenarios:
        figures = child(env, "pages", str(args.repeat))
        _print_table(
            f"Pages, in-process, {args.repeat} requests each", figures, TARGET_MS
        )
    if "admin" in scenarios:
        figures = child(env, "admin", str(args.repeat))
        _print_table("Django admin sessions changelist", figures, 1000)
    if "load" in scenarios:
        users = child(env, "users", "100")
        backends = postgres_backends(portal) if portal.startswith("postgres") else None
        server = Gunicorn(env, args.server)
        try:
            for page in users["pages"].values():  # warm every worker
                for _ in range(8):
                    _get(server.port, page, users["cookies"][0])
            for label, count, paced, rps_target in (
                ("50 users, no think time", 50, False, 150),
                ("100 users: Live every 5 s, another page every 15 s", 100, True, None),
            ):
                groups = {
                    "gunicorn": lambda: process_tree(server.proc.pid),
                    "load generator": lambda: [os.getpid()],
                }
                if portal.startswith("postgres"):
                    groups["postgres"] = backends
                with CpuMeter(groups) as cpu:
                    r = run_load(
                        server.port, count, users["pages"], users["cookies"],
                        args.seconds if not paced else max(args.seconds, 30), paced,
                    )  # fmt: skip
                out(f"\nLoad, {server.label} on loopback: {label}")
                target = f" (target >= {rps_target})" if rps_target else ""
                out(
                    f"  {r['requests']} requests, {r['rps']:.0f} requests/s{target}, "
                    f"errors {r['errors']}, p95 all pages {r['p95_all']:.0f} ms"
                    + ("" if rps_target else " (target <= 200 ms)")
                )
                for name, f in r["pages"].items():
                    out(
                        f"  {name:10s} n {f['n']:5d}  p50 {f['p50']:6.1f}  "
                        f"p95 {f['p95']:6.1f}  p99 {f['p99']:6.1f} ms"
                    )
                out(
                    "  CPU per request: "
                    + ", ".join(
                        f"{group} {seconds / max(1, r['requests']) * 1000:.2f} ms"
                        f" ({cpu.processes[group]} processes)"
                        for group, seconds in cpu.seconds.items()
                    )
                )
                out(f"  {uptime()}")
        finally:
            server.stop()
            if backends is not None:
                backends.close()


if __name__ == "__main__":
    main()
