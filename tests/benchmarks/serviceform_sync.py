"""Serviceform chat sync benchmark (`make bench BENCH=serviceform`).
Prints figures; asserts nothing.

The Serviceform sandbox is seeded with N chats of its main account (over ~120
days, each with 2-9 messages; about one chat in eight shares its second with
the one before) and served by a real gunicorn process on loopback; the real
client pulls `POST /chats` over HTTP (pages of 500, the API's largest `limit`,
with `showMessages` for new chats) through the real chats stream:

  (a) backfill into an empty portal database (chats, their messages and the
      control room's activities), four pages per transaction with the cursor,
  (b) re-sync with nothing new (the look-back part listed without messages,
      the part after the previous run with them; target <= 2 requests),
  (c) incremental re-sync after 1% new chats at Serviceform.

In the same run and on the same rows it measures the raw database upsert rate
of the chat table (harness.raw_upsert) and prints the backfill (chats a second;
each chat's messages are written too) as a ratio of it (target >= 40%). Peak
RSS is measured in separate processes for a small and a large backfill
(target: < 100 MB growth). CPU seconds of the portal process and of the
sandbox server are printed beside wall time (the machine is shared).

Runs on SQLite by default; on PostgreSQL when DATABASE_URL is set to postgres://…
(in a database derived from its name: `<name>_bench_serviceform`).
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

MODULE = "tests.benchmarks.serviceform_sync"
#: The backfill covers the whole seed (its chats go back ~120 days).
HISTORY_DAYS = 130


def prepare(tag: str, records: int, portal_url: str | None) -> dict:
    return seeded_sandbox("serviceform", tag, records, portal_url)


def child(env: dict, *args: str) -> dict:
    return run_child(MODULE, env, *args)


# --- child side (inside Django) -----------------------------------------------
def _account(base_url: str):
    from django.conf import settings

    settings.SERVICEFORM_CHAT_HISTORY_DAYS = HISTORY_DAYS
    return bench_account("serviceform", base_url)


def _vendor_chats():
    from vendors.serviceform.sandbox.models import Chat
    from vendors.serviceform.sandbox.seed import MAIN_KEY

    return Chat.objects.filter(account__api_key=MAIN_KEY)


def child_backfill(base_url: str) -> dict:
    account = _account(base_url)
    result = run_stream(account, "chats")
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def child_full(base_url: str) -> dict:
    from django.db import connection

    from cobrowse_portal.core.models import Activity
    from vendors.serviceform.models import ServiceformChat, ServiceformMessage

    account = _account(base_url)
    out = {"backfill": run_stream(account, "chats")}
    out["backfill"]["peak_rss_mb"] = peak_rss_mb()
    out["nochange"] = run_stream(account, "chats")
    out["appended_records"] = _append_chats(fraction=0.01)
    out["incremental_after_new"] = run_stream(account, "chats")
    chats = ServiceformChat.objects.filter(account=account)
    vendor = _vendor_chats()
    out["check"] = {
        "vendor_chats": vendor.count(),
        "stored_chats": chats.count(),
        "vendor_messages": sum(vendor.values_list("message_count", flat=True)),
        "stored_messages": ServiceformMessage.objects.filter(account=account).count(),
        "activities": Activity.objects.filter(account=account).count(),
    }
    out["raw"] = raw_upsert(ServiceformChat, account)
    out["raw_index"] = raw_upsert(
        ServiceformChat, account, with_activities=True, side=(ServiceformMessage,)
    )
    out["vendor"] = connection.vendor
    return out


def _append_chats(fraction: float) -> int:
    """1% new chats at Serviceform, started in the last hour (copies of the
    newest chat's shape with new ids)."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from vendors.serviceform.sandbox.models import Chat

    template = _vendor_chats().order_by("-started").first()
    count = int(_vendor_chats().count() * fraction)
    rng, now, batch = random.Random(5), timezone.now(), []
    for i in range(count):
        started = now - timedelta(minutes=50, seconds=rng.randrange(0, 600))
        ended = started + timedelta(minutes=5)
        batch.append(
            Chat(
                account_id=template.account_id,
                cid=f"bench{i:08d}",
                uid=template.uid,
                started=started,
                ended=ended,
                chatbot=template.chatbot,
                agent_id=template.agent_id,
                agent_name=template.agent_name,
                agent_email=template.agent_email,
                source=template.source,
                url=template.url,
                message_count=len(template.messages),
                messages=[
                    {**m, "id": f"b{i}-{n}", "timestamp": int(ended.timestamp())}
                    for n, m in enumerate(template.messages)
                ],
            )
        )
    Chat.objects.bulk_create(batch, batch_size=2000)
    return count


# --- orchestration ---------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        import django

        django.setup()
        command, *rest = args.child
        result = {"backfill": child_backfill, "full": child_full}[command](*rest)
        print(json.dumps(result))  # noqa: T201
        return

    portal_url, backend = portal_database("serviceform")
    out = print  # noqa: T202
    out(
        f"Serviceform chat sync benchmark on {backend}: {args.chats:,} chats, "
        f"500 per request (the API's largest limit), sandbox served by gunicorn "
        f"on 127.0.0.1; load {os.getloadavg()[0]:.2f}"
    )
    small = prepare("small", args.small, portal_url)
    server = Server(small["env"])
    try:
        small_run = child(small["env"], "backfill", server.url)
    finally:
        server.stop()

    big = prepare("big", args.chats, portal_url)
    out(f"seeded the sandbox with {args.chats:,} chats in {big['seed_seconds']:.1f} s")
    server = Server(big["env"])
    try:
        cpu = server.cpu_seconds()
        full = child(big["env"], "full", server.url)
        server_cpu = server.cpu_seconds() - cpu
    finally:
        server.stop()
    shutil.rmtree(WORK, ignore_errors=True)

    rows = [
        ("(a) backfill", full["backfill"]),
        ("(b) re-sync, no change", full["nochange"]),
        (
            f"(c) incremental, {full['appended_records']:,} new",
            full["incremental_after_new"],
        ),
    ]
    report_sync(
        out,
        full,
        small_run,
        rows,
        unit="chats",
        small=args.small,
        records=args.chats,
        server_cpu=server_cpu,
    )
    c = full["check"]
    out(
        f"stored {c['stored_chats']:,} chats of {c['vendor_chats']:,} at "
        f"Serviceform and {c['stored_messages']:,} messages of "
        f"{c['vendor_messages']:,}; {c['activities']:,} activities"
    )


if __name__ == "__main__":
    main()
