"""The webhook intake and drain in-process, without gunicorn, Celery or the
senders: CPU and statements per event of the intake (each delivery through
Django's WSGI handler, as gunicorn calls it) and of the drain
(`core.process_webhook_events`), figures the machine's load inflates less than
wall-clock ones. Prints; asserts nothing.

  python -m tests.benchmarks.webhook_drain --events 5000
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/cobrowse python -m …
  … --profile backlog   (cProfile of that mode, top functions by CPU time)

The events are the intake benchmark's (`webhook_intake.payloads`: 10 accounts,
sessions queued, started and ended in sequence order), delivered through the
portal's WSGI handler (the queued task is not sent: `delay` is a no-op, the flag
protocol runs). Modes: `intake` delivers them all (CPU and statements per
delivery); `backlog` then drains each account (batches of 100, as when the
worker is behind); `trickle` delivers `--trickle` events per account and drains,
over and over (small batches, as when the worker keeps up with the senders).
The drain modes check that every event was applied exactly once and each
session ended. On
PostgreSQL it works in `<name>_bench_drain` (derived from DATABASE_URL, dropped
and recreated).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
import uuid

from tests.benchmarks.databases import derived_url, recreate
from tests.benchmarks.harness import WORK, bench_env
from tests.benchmarks.webhook_intake import payloads


class _Statements:
    """Statements sent, through Django's cursors and bulk.write_rows (which runs
    on the driver's cursor on PostgreSQL, out of the execute wrapper's sight)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += len(params) if many and params is not None else 1
        return execute(sql, params, many, context)


def _accounts(n: int, mode: str) -> list[dict]:
    from cobrowse_portal.core.models import VendorAccount, Workspace

    workspace, _ = Workspace.objects.get_or_create(
        slug="bench-drain", defaults={"name": "Bench drain"}
    )
    out = []
    for i in range(n):
        account = VendorAccount(
            workspace=workspace,
            vendor="surfly",
            name=f"{mode} {i} {uuid.uuid4().hex[:8]}",
            base_url="http://127.0.0.1:9/v2",
            enabled=False,
        )
        account.set_credentials({"api_key": f"bench-{i}"})
        account.save()
        out.append({"id": account.pk, "path": account.webhook_path})
    return out


_app = None


def _deliver(work) -> None:
    """POST each body through Django's WSGI handler (middleware included)."""
    global _app
    if _app is None:
        from django.core.handlers.wsgi import WSGIHandler

        _app = WSGIHandler()
    for path, body in work:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http",
        }
        statuses: list[str] = []
        response = _app(environ, lambda s, h, out=statuses: out.append(s))
        b"".join(response)
        response.close()
        assert statuses[0].startswith("202"), statuses


def _run(mode: str, events: int, accounts: int, trickle: int, profiler) -> dict:
    from django.db import connection

    from cobrowse_portal.core import tasks
    from cobrowse_portal.core.models import WebhookEvent
    from cobrowse_portal.vendorkit import bulk
    from vendors.surfly.models import CobrowseSession

    made = _accounts(accounts, mode)
    work = payloads(made, events)
    ids = [a["id"] for a in made]
    statements = _Statements()
    original = bulk.write_rows

    def write_rows(*args, **kwargs):
        if connection.vendor == "postgresql":
            statements.count += 1  # its statement runs on the driver's cursor
        return original(*args, **kwargs)

    cpu = wall = 0.0

    def timed(step) -> None:
        nonlocal cpu, wall
        t, c = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        bulk.write_rows = write_rows
        try:
            with connection.execute_wrapper(statements):
                step()
        finally:
            bulk.write_rows = original
            if profiler is not None:
                profiler.disable()
        cpu += time.process_time() - c
        wall += time.perf_counter() - t

    def drain() -> None:
        timed(lambda: [tasks.process_webhook_events(pk) for pk in ids])

    if mode == "intake":
        _deliver(work[: len(ids)])  # each account seen once, as a running server has
        timed(lambda: _deliver(work[len(ids) :]))
        events -= len(ids)
    elif mode == "backlog":
        _deliver(work)
        drain()
    else:
        step = trickle * accounts  # `payloads` is round-robin over the accounts
        for i in range(0, len(work), step):
            _deliver(work[i : i + step])
            drain()
    if mode == "intake":
        stored = WebhookEvent.objects.filter(account_id__in=ids, status="received")
        return {
            "cpu": cpu,
            "wall": wall,
            "statements": statements.count,
            "ok": stored.count() == len(work),
            "events": events,
        }
    left = WebhookEvent.objects.filter(account_id__in=ids).exclude(status="processed")
    sessions = CobrowseSession.objects.filter(account_id__in=ids)
    ok = (
        not left.exists()
        and WebhookEvent.objects.filter(account_id__in=ids).count() == events
        and not sessions.filter(is_active=True).exclude(
            last_event_sequence__gt=events // accounts - 3
        )
    )
    return {
        "cpu": cpu,
        "wall": wall,
        "statements": statements.count,
        "ok": ok,
        "events": events,
    }


def run(events: int, accounts: int, trickle: int, repeat: int, profile: str) -> None:
    from django.db import connection

    from cobrowse_portal.core import tasks

    out = print  # noqa: T202
    # Nothing is sent to a broker: the benchmark drains itself.
    tasks.process_webhook_events.delay = lambda account_id: None
    profiler = cProfile.Profile(time.process_time) if profile else None
    out(
        f"webhook drain on {connection.vendor}: {events:,} events over {accounts} "
        f"accounts, best of {repeat}; load before {os.getloadavg()}"
    )
    for mode in ("intake", "backlog", "trickle"):
        best = None
        for r in range(repeat):
            result = _run(
                mode,
                events,
                accounts,
                trickle,
                profiler if mode == profile and r == 0 else None,
            )
            if best is None or result["cpu"] < best["cpu"]:
                best = result
        label = f"trickle ({trickle}/account)" if mode == "trickle" else mode
        n = best["events"]
        check = "all stored" if mode == "intake" else "exactly once and in order"
        out(
            f"{label:<24} CPU {best['cpu'] / n * 1000:6.3f} ms/event, wall "
            f"{best['wall'] / n * 1000:6.3f} ms/event, "
            f"{best['statements'] / n:5.2f} statements/event, "
            f"{check}: {'ok' if best['ok'] else 'NO'}"
        )
    out(f"load after {os.getloadavg()}")
    if profiler is not None:
        for order, lines in (("tottime", 30), ("cumulative", 45)):
            buf = io.StringIO()
            pstats.Stats(profiler, stream=buf).sort_stats(order).print_stats(lines)
            out(buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--trickle", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--profile", choices=["intake", "backlog", "trickle"], default=""
    )
    args = parser.parse_args()

    pg = os.environ.get("DATABASE_URL", "")
    if pg.startswith("postgres"):
        portal = derived_url(pg, "drain")
        recreate(portal)
    else:
        WORK.mkdir(parents=True, exist_ok=True)
        for p in WORK.glob("drain-*.sqlite3*"):
            p.unlink()
        portal = f"sqlite:///{WORK / 'drain-portal.sqlite3'}"
    sandbox = f"sqlite:///{WORK / 'drain-sandbox.sqlite3'}"
    os.environ.update(
        bench_env(portal, sandbox, SANDBOX_ENABLED="false", CONN_MAX_AGE="60")
    )

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    try:
        run(args.events, args.accounts, args.trickle, args.repeat, args.profile)
    finally:
        from django.db import connections

        connections.close_all()
        if portal.startswith("postgres"):
            recreate(portal, drop_only=True)


if __name__ == "__main__":
    main()
