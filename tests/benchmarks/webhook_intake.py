"""Webhook intake benchmark (`make bench`, or `make bench BENCH=webhooks`).
Prints figures next to their targets; asserts nothing.

The portal runs as in production: gunicorn on loopback, PostgreSQL, and a real
Celery worker on Redis. 16 concurrent senders POST 5,000 Surfly session events
spread over 10 accounts (keep-alive connections, as a vendor's dispatcher would);
then the run waits until every event is applied and checks each was applied
exactly once (status processed, counts per account).

Figures: events/s accepted, p50/p95 latency of the intake POST, and the time from
the last accepted event until every event is applied; `uptime` load next to them.

Databases: `<name>_bench_hooks` and `<name>_bench_hooks_sb`, derived from
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/cobrowse), created fresh
and dropped at the end. Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/13),
flushed first (never CELERY_BROKER_URL's database).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from cobrowse_portal import gunicorn_conf
from tests.benchmarks.databases import derived_url, recreate
from tests.benchmarks.harness import PY, ROOT, bench_env, free_port

TARGETS = {"rate": 300.0, "p95_ms": 50.0, "drain_s": 10.0}


def portal_env(db_url: str, sb_url: str, redis_url: str) -> dict[str, str]:
    return bench_env(
        db_url,
        sb_url,
        CONN_MAX_AGE="60",
        CELERY_BROKER_URL=redis_url,
        SANDBOX_ENABLED="false",
    )


def db_urls(base: str) -> tuple[str, str]:
    return derived_url(base, "hooks"), derived_url(base, "hooks_sb")


def run(env: dict, *args: str) -> str:
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit(f"{' '.join(args[:3])} failed")
    return out.stdout.strip()


def start(env: dict, args: list[str], log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own session: gunicorn's/celery's kids
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) used so far by every live process of session
    `sid` (gunicorn or celery and their children): a figure the machine's load
    does not inflate, unlike wall-clock latency."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # field 6 of stat: the session id
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def database_cpu(name: str) -> float:
    """CPU seconds used so far by the live PostgreSQL backends serving database
    `name` (their process title names it; the portal keeps its connections for
    the run, CONN_MAX_AGE)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            title = (proc / "cmdline").read_bytes()
            if not title.startswith(b"postgres: ") or f" {name} ".encode() not in title:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def wait_port(port: int, proc: subprocess.Popen, what: str) -> None:
    import socket

    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start")


# --- child side (inside Django) ------------------------------------------------
def child_setup(accounts: int) -> list[dict]:
    import django

    django.setup()
    from cobrowse_portal.core.models import VendorAccount, Workspace

    workspace = Workspace.objects.create(name="Bench", slug="bench")
    out = []
    for i in range(accounts):
        account = VendorAccount(
            workspace=workspace,
            vendor="surfly",
            name=f"hooks {i}",
            base_url="http://127.0.0.1:9/v2",  # never called
            enabled=False,  # no beat schedules, no syncs: intake only
        )
        account.set_credentials({"api_key": f"bench-key-{i:04d}"})
        account.save()
        out.append({"id": account.pk, "path": account.webhook_path})
    return out


# --- senders -------------------------------------------------------------------
def payloads(accounts: list[dict], events: int) -> list[tuple[str, bytes]]:
    """`events` bodies round-robin over the accounts; per account, sessions that
    are queued, started and ended in sequence order."""
    kinds = ("session.queued", "session.started", "session.ended")
    out, seq = [], {a["id"]: 0 for a in accounts}
    for i in range(events):
        account = accounts[i % len(accounts)]
        seq[account["id"]] += 1
        n = seq[account["id"]]
        session, kind = (n - 1) // 3, kinds[(n - 1) % 3]
        data = {
            "session_id": f"bench-{account['id']}-{session}",
            "start_time": "2026-10-01T10:00:00Z",
            "tags": ["bench"],
            "meta": {"n": n},
        }
        if kind == "session.queued":
            data["pin"] = f"{n % 10000:04d}"
        if kind == "session.ended":
            data |= {"end_time": "2026-10-01T10:30:00Z", "duration": 1800}
        body = json.dumps({"sequence_id": n, "type": kind, "data": data}).encode()
        out.append((account["path"], body))
    return out


def send_all(port: int, work: list[tuple[str, bytes]], senders: int) -> dict:
    lock = threading.Lock()
    queue = list(reversed(work))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    last_accepted = [0.0]

    def sender() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes = [], {}
        while True:
            with lock:
                if not queue:
                    break
                path, body = queue.pop()
            t = time.perf_counter()
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                status = 0
            done = time.perf_counter()
            mine.append(done - t)
            codes[status] = codes.get(status, 0) + 1
            if status == 202:
                with lock:
                    last_accepted[0] = max(last_accepted[0], done)
        conn.close()
        with lock:
            latencies.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ended = time.perf_counter()
    return {
        "seconds": ended - began,
        "began": began,
        "last_accepted": last_accepted[0],
        "latencies": latencies,
        "statuses": statuses,
    }


def event_counts(db_url: str) -> dict:
    import psycopg

    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT account_id, status, count(*) FROM core_webhookevent "
            "GROUP BY account_id, status"
        ).fetchall()
    return rows


def batch_count(db_url: str) -> int:
    """How many batches the drains committed: the events of one batch share
    their `processed_at` (one UPDATE per batch)."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT count(DISTINCT (account_id, processed_at)) FROM core_webhookevent"
        ).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--senders", type=int, default=16)
    # Default: production's (cobrowse_portal/gunicorn_conf.py).
    parser.add_argument("--web-workers", type=int, default=gunicorn_conf.workers)
    parser.add_argument("--web-threads", type=int, default=gunicorn_conf.threads)
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        command, *rest = args.child
        result = {"setup": lambda n: child_setup(int(n))}[command](*rest)
        print(json.dumps(result))  # noqa: T201
        return

    out = print  # noqa: T202
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/cobrowse"
    db_url, sb_url = db_urls(base)
    # Not CELERY_BROKER_URL: the benchmark flushes its broker database.
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    work = ROOT / "var" / "bench-hooks"
    work.mkdir(parents=True, exist_ok=True)
    out(
        f"Webhook intake benchmark: {args.events:,} Surfly events over "
        f"{args.accounts} accounts, {args.senders} concurrent senders; gunicorn "
        f"({args.web_workers} workers x {args.web_threads} threads, "
        f"{gunicorn_conf.worker_class}) + PostgreSQL + "
        f"Celery worker (concurrency {args.celery_concurrency}) on Redis"
    )
    out(
        f"databases: {db_url.rsplit('/', 1)[1]} and {sb_url.rsplit('/', 1)[1]} "
        f"(derived from DATABASE_URL, recreated, dropped at the end); "
        f"broker: {redis_url} (flushed)"
    )
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    recreate(db_url)
    recreate(sb_url)
    env = portal_env(db_url, sb_url, redis_url)
    run(env, PY, "manage.py", "migrate", "--noinput")
    accounts = json.loads(
        run(
            env,
            PY,
            "-m",
            "tests.benchmarks.webhook_intake",
            "--child",
            "setup",
            str(args.accounts),
        ).splitlines()[-1]
    )
    bodies = payloads(accounts, args.events)
    port = free_port()
    bin_dir = Path(PY).parent
    web = worker = None
    try:
        web = start(
            env,
            [
                str(bin_dir / "gunicorn"),
                "-c",
                "python:cobrowse_portal.gunicorn_conf",  # production's settings
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.web_workers),
                "--threads",
                str(args.web_threads),
                "--log-level",
                "warning",
            ],
            work / "gunicorn.log",
        )
        worker = start(
            env,
            [
                str(bin_dir / "celery"),
                "-A",
                "cobrowse_portal",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(args.celery_concurrency),
                "--pool",
                "threads",
                "--without-gossip",
                "--without-mingle",
            ],
            work / "celery.log",
        )
        wait_port(port, web, "gunicorn")
        time.sleep(3)  # the worker connects to Redis
        load_before = run(env, "uptime")
        db_name = db_url.rsplit("/", 1)[1]
        cpu_web, cpu_worker = session_cpu(web.pid), session_cpu(worker.pid)
        cpu_db, cpu_senders = database_cpu(db_name), time.process_time()
        sent = send_all(port, bodies, args.senders)
        cpu_senders = time.process_time() - cpu_senders
        accepted = sent["statuses"].get(202, 0)
        # Until every event is applied (or 120 s).
        deadline = time.perf_counter() + 120
        while True:
            rows = event_counts(db_url)
            pending = sum(c for _, s, c in rows if s == "received")
            if pending == 0 or time.perf_counter() > deadline:
                break
            time.sleep(0.05)
        applied_at = time.perf_counter()
        batches = batch_count(db_url)
        cpu_web = session_cpu(web.pid) - cpu_web
        cpu_worker = session_cpu(worker.pid) - cpu_worker
        cpu_db = database_cpu(db_name) - cpu_db
        load_after = run(env, "uptime")
    finally:
        stop(web)
        stop(worker)

    lat = sorted(sent["latencies"])
    p50 = statistics.median(lat) * 1000
    p95 = lat[int(len(lat) * 0.95) - 1] * 1000
    rate = accepted / sent["seconds"]
    drain = applied_at - sent["last_accepted"]
    processed = {a: c for a, s, c in rows if s == "processed"}
    others = [(a, s, c) for a, s, c in rows if s != "processed"]
    per_account = args.events // args.accounts
    exact = (
        not others
        and len(processed) == args.accounts
        and all(c == per_account for c in processed.values())
    )

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    out(f"\nHTTP statuses: {dict(sorted(sent['statuses'].items()))}")
    out(
        f"accepted: {accepted:,} events in {sent['seconds']:.2f} s = {rate:,.0f} "
        f"events/s (target >= {TARGETS['rate']:.0f}) {verdict(rate >= TARGETS['rate'])}"
    )
    out(
        f"intake POST latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"(target p95 <= {TARGETS['p95_ms']:.0f} ms) "
        f"{verdict(p95 <= TARGETS['p95_ms'])}"
    )
    out(
        f"last accepted -> all applied: {drain:.2f} s "
        f"(target <= {TARGETS['drain_s']:.0f} s) {verdict(drain <= TARGETS['drain_s'])}"
    )
    out(
        f"applied exactly once: {verdict(exact)} (processed per account: "
        f"{sorted(processed.values())}; other statuses: {others or 'none'})"
    )
    out(
        f"drain batches committed: {batches:,} "
        f"({args.events / max(batches, 1):.1f} events per batch)"
    )
    out(
        f"CPU per event: web {cpu_web / args.events * 1000:.2f} ms, worker "
        f"{cpu_worker / args.events * 1000:.2f} ms (gunicorn and celery processes; "
        f"PostgreSQL and the senders not counted)"
    )
    per_event = 1000 / args.events
    out(
        f"CPU per event elsewhere: PostgreSQL backends {cpu_db * per_event:.2f} ms, "
        f"the senders {cpu_senders * per_event:.2f} ms"
    )
    out(f"load before: {load_before}")
    out(f"load after:  {load_after}")
    recreate(db_url, drop_only=True)
    recreate(sb_url, drop_only=True)


if __name__ == "__main__":
    main()
