"""The webhook drain in-process (`core.process_webhook_events`), without gunicorn,
Celery or the senders: the worker's CPU per event and its statements per event,
figures the machine's load does not inflate much. Prints; asserts nothing.

  python -m tests.benchmarks.webhook_drain --events 5000
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/cobrowse python -m …
  … --profile backlog   (cProfile of that mode, top functions by own time)

The events are the intake benchmark's (`webhook_intake.payloads`: 10 accounts,
sessions queued, started and ended in sequence order), stored through the real
intake (`vendorkit.webhooks.intake`, its task hand-off switched off). Two modes:
`backlog` stores them all, then drains each account (batches of 100, as when the
worker is behind); `trickle` stores `--trickle` events per account and drains, over
and over (small batches, as when the worker keeps up with the senders). Each mode
checks that every event was applied exactly once and each session ended. On
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
            name=f"{mode} {i}",
            base_url="http://127.0.0.1:9/v2",
            enabled=False,
        )
        account.set_credentials({"api_key": f"bench-{i}"})
        account.save()
        out.append({"id": account.pk, "path": account.webhook_path})
    return out


def _deliver(work) -> None:
    from cobrowse_portal.vendorkit import webhooks

    for path, body in work:
        _, _, account_id, token, _ = path.split("/")
        status, _ = webhooks.intake(int(account_id), token, lambda b=body: b)
        assert status == 202, status


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

    def drain() -> None:
        nonlocal cpu, wall
        t, c = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        bulk.write_rows = write_rows
        try:
            with connection.execute_wrapper(statements):
                for account_id in ids:
                    tasks.process_webhook_events(account_id)
        finally:
            bulk.write_rows = original
            if profiler is not None:
                profiler.disable()
        cpu += time.process_time() - c
        wall += time.perf_counter() - t

    if mode == "backlog":
        _deliver(work)
        drain()
    else:
        step = trickle * accounts  # `payloads` is round-robin over the accounts
        for i in range(0, len(work), step):
            _deliver(work[i : i + step])
            drain()
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
        "sessions": sessions.count(),
    }


def run(events: int, accounts: int, trickle: int, repeat: int, profile: str) -> None:
    from django.db import connection

    from cobrowse_portal.core import tasks
    from cobrowse_portal.vendorkit import webhooks

    out = print  # noqa: T202
    # The intake's hand-off to Celery is off: the benchmark drains itself.
    webhooks._request_processing = lambda account_id: None
    tasks.request_webhook_processing = lambda account_id, force=False: False
    profiler = cProfile.Profile() if profile else None
    out(
        f"webhook drain on {connection.vendor}: {events:,} events over {accounts} "
        f"accounts, best of {repeat}; load before {os.getloadavg()}"
    )
    for mode in ("backlog", "trickle"):
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
        label = mode if mode == "backlog" else f"trickle ({trickle}/account)"
        out(
            f"{label:<24} CPU {best['cpu'] / events * 1000:6.3f} ms/event, wall "
            f"{best['wall'] / events * 1000:6.3f} ms/event, "
            f"{best['statements'] / events:5.2f} statements/event, "
            f"exactly once and in order: {'ok' if best['ok'] else 'NO'}"
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
    parser.add_argument("--profile", choices=["backlog", "trickle"], default="")
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
    os.environ.update(bench_env(portal, sandbox, SANDBOX_ENABLED="false"))

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
