"""Smartsupp reseller sync benchmark (`make bench BENCH=smartsupp`). Prints
figures; asserts nothing.

The Smartsupp sandbox is seeded with a reseller key of N accounts (10 users
and 2 triggers each: 2,000 accounts are 20,000 users) and served by a real
gunicorn process on loopback; the real client pulls the legacy REST API over
HTTP through the real streams: `accounts` (one full listing), then `users`
and `triggers` (one listing per account, `sync.ACCOUNTS_PER_PAGE` accounts a
transaction with the cursor past them):

  (a) backfill into an empty portal database: accounts, then users (the
      control room's agent directory follows the users),
  (b) re-sync with nothing changed: the same requests (the legacy API has no
      filter or paging: every listing is a full one), and rows written
      (target 0: fingerprints),
  (c) triggers, for scale.

In the same run and on the same rows it measures the raw database upsert rate
of the user table (harness.raw_upsert) and prints the backfill's users as a
ratio of it (target >= 40%). Peak RSS is measured in separate processes for a
small and a large reseller. CPU seconds of the portal process and of the
sandbox server are printed beside wall time (the machine is shared).

Runs on SQLite by default; on PostgreSQL when DATABASE_URL is set to
postgres://… (in a database derived from its name: `<name>_bench_smartsupp`).
`SMARTSUPP_ARGS="--accounts 200 --small 50"` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

from tests.benchmarks.harness import (
    WORK,
    Server,
    bench_account,
    peak_rss_mb,
    portal_database,
    raw_upsert,
    report_sync,
    run_child,
    run_stream,
    seeded_sandbox,
)

MODULE = "tests.benchmarks.smartsupp_sync"
#: `vendors.smartsupp.sync.ACCOUNTS_PER_PAGE` (not imported here: the parent
#: process runs without Django).
PER_PAGE = 100


def prepare(tag: str, accounts: int, portal_url: str | None) -> dict:
    return seeded_sandbox("smartsupp", tag, accounts, portal_url)


def child(env: dict, *args: str) -> dict:
    return run_child(MODULE, env, *args)


# --- child side (inside Django) -----------------------------------------------
def _account(base_url: str):
    return bench_account("smartsupp", base_url)


def _both(account) -> dict:
    """The accounts stream then the users stream, as one sync's figures."""
    runs = [run_stream(account, "accounts"), run_stream(account, "users")]
    out = {
        key: sum(r[key] for r in runs)
        for key in (
            "seconds",
            "cpu_seconds",
            "created",
            "updated",
            "unchanged",
            "requests",
            "pages",
        )
    }
    out["removed"] = 0
    touched = out["created"] + out["updated"] + out["unchanged"]
    out["records_per_second"] = touched / out["seconds"] if out["seconds"] else 0.0
    out["parts"] = runs
    return out


def _written(account, streams) -> int:
    """Rows the last runs of `streams` wrote (created, updated or removed)."""
    from cobrowse_portal.core.models import SyncRun

    total = 0
    for stream in streams:
        run = SyncRun.objects.filter(account=account, stream=stream).latest("pk")
        total += run.created + run.updated + run.removed
    return total


def child_backfill(base_url: str) -> dict:
    account = _account(base_url)
    result = _both(account)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def child_full(base_url: str) -> dict:
    from django.db import connection

    from cobrowse_portal.core.models import VendorAgent
    from vendors.smartsupp.models import (
        SmartsuppAccount,
        SmartsuppTrigger,
        SmartsuppUser,
    )
    from vendors.smartsupp.sandbox.models import Account, User
    from vendors.smartsupp.sandbox.seed import RESELLER_KEY

    account = _account(base_url)
    out = {"backfill": _both(account)}
    out["backfill"]["peak_rss_mb"] = peak_rss_mb()
    out["nochange"] = _both(account)
    out["nochange_written"] = _written(account, ("accounts", "users"))
    out["triggers"] = run_stream(account, "triggers")
    out["triggers_again"] = run_stream(account, "triggers")
    out["triggers_again_written"] = _written(account, ("triggers",))
    users = SmartsuppUser.objects.filter(account=account)
    out["check"] = {
        "vendor_accounts": Account.objects.filter(owner__key=RESELLER_KEY).count(),
        "vendor_users": User.objects.filter(account__owner__key=RESELLER_KEY).count(),
        "stored_accounts": SmartsuppAccount.objects.filter(account=account).count(),
        "stored_users": users.count(),
        "removed_users": users.filter(removed_at__isnull=False).count(),
        "stored_triggers": SmartsuppTrigger.objects.filter(account=account).count(),
        "directory": VendorAgent.objects.filter(account=account).count(),
    }
    out["raw"] = raw_upsert(SmartsuppUser, account)
    out["raw_index"] = raw_upsert(SmartsuppUser, account, with_activities=True)
    out["vendor"] = connection.vendor
    return out


# --- orchestration ---------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        import django

        django.setup()
        command, *rest = args.child
        result = {"backfill": child_backfill, "full": child_full}[command](*rest)
        print(json.dumps(result))  # noqa: T201
        return

    portal_url, backend = portal_database("smartsupp")
    out = print  # noqa: T202
    out(
        f"Smartsupp reseller sync benchmark on {backend}: {args.accounts:,} "
        f"accounts, {args.accounts * 10:,} users, one listing per account, "
        f"{PER_PAGE} accounts a transaction; sandbox served by gunicorn "
        f"on 127.0.0.1; load {os.getloadavg()[0]:.2f}"
    )
    small = prepare("small", args.small, portal_url)
    server = Server(small["env"])
    try:
        small_run = child(small["env"], "backfill", server.url)
    finally:
        server.stop()

    big = prepare("big", args.accounts, portal_url)
    out(
        f"seeded the sandbox with {args.accounts:,} accounts in "
        f"{big['seed_seconds']:.1f} s"
    )
    server = Server(big["env"])
    try:
        cpu = server.cpu_seconds()
        full = child(big["env"], "full", server.url)
        server_cpu = server.cpu_seconds() - cpu
    finally:
        server.stop()
    shutil.rmtree(WORK, ignore_errors=True)

    backfill_users = full["backfill"]["parts"][1]
    rows = [
        ("(a) backfill: accounts + users", full["backfill"]),
        ("    of which users", backfill_users),
        ("(b) re-sync, no change", full["nochange"]),
        ("(c) triggers", full["triggers"]),
        ("    triggers again, no change", full["triggers_again"]),
    ]
    # The ratio to the raw upsert of the user table is the users stream's.
    report_sync(
        out,
        {**full, "backfill": {**backfill_users, **_rss(full["backfill"])}},
        small_run,
        rows,
        unit="rows",
        # Rows of a backfill: the accounts and their 10 users each.
        small=args.small * 11,
        records=args.accounts * 11,
        server_cpu=server_cpu,
    )
    out(
        "(the legacy API has no filter or paging: a re-sync asks for every "
        f"listing again, {full['nochange']['requests']:,} requests; the target "
        "of <= 2 is for vendors with an incremental listing)"
    )
    out(
        f"rows written by the no-change re-sync: {full['nochange_written']} "
        f"(accounts + users), {full['triggers_again_written']} (triggers); "
        "target 0"
    )
    c = full["check"]
    out(
        f"stored {c['stored_accounts']:,} accounts of {c['vendor_accounts']:,} and "
        f"{c['stored_users']:,} users of {c['vendor_users']:,} at Smartsupp "
        f"({c['removed_users']} marked removed); {c['stored_triggers']:,} "
        f"triggers; {c['directory']:,} agent directory entries"
    )


def _rss(run: dict) -> dict:
    return {"peak_rss_mb": run["peak_rss_mb"]}


if __name__ == "__main__":
    main()
