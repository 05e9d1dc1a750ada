"""Serviceform streams against the sandbox over HTTP (seeded once per session):
chats backfilled once with their messages (small pages, so many page edges
fall inside seconds shared by several chats), re-synced in two requests with
nothing written, changed chats refetched with their messages and unchanged
ones not, resumable after a failure mid-backfill and through 20% faults;
spaces and items, leads (full listings, vanished rows removed) and the daily
statistics into the control room."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus, RunStatus
from cobrowse_portal.core.models import Activity, UsageDay
from cobrowse_portal.vendorkit.runs import execute_stream, load_cursor
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from tests.conftest import sandbox_account
from vendors.serviceform import sync
from vendors.serviceform.models import (
    ChatStatus,
    ServiceformChat,
    ServiceformChatStatDay,
    ServiceformItem,
    ServiceformLead,
    ServiceformMessage,
    ServiceformSpace,
)
from vendors.serviceform.sandbox.models import Item, Lead, Space
from vendors.serviceform.sandbox.seed import MAIN_KEY
from vendors.serviceform.schemas import Chat

from .conftest import SANDBOX, SEED_SIZE, main_chats

pytestmark = SANDBOX
#: Every seeded chat is inside the backfill (the seed spans ~120 days).
HISTORY = override_settings(SERVICEFORM_CHAT_HISTORY_DAYS=130)
#: Small pages: many page edges, some inside a second shared by several chats.
LIMIT = 10


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(sync, "CHAT_LIMIT", LIMIT)
    monkeypatch.setattr(sync, "COMMIT_PAGES", 2)


def run(account, stream):
    result = execute_stream(account.pk, stream)
    assert result.status == RunStatus.SUCCEEDED, result.error
    return result


def serviceform(reseller, live_server):
    return sandbox_account(reseller, live_server.url, vendor="serviceform")


def sent_chat_bodies(monkeypatch) -> list[dict]:
    """The JSON bodies of the POST /chats requests the client sends."""
    seen: list[dict] = []
    real = requests.adapters.HTTPAdapter.send

    def send(self, request, **kwargs):
        if request.url.rstrip("/").endswith("/chats"):
            seen.append(json.loads(request.body))
        return real(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return seen


def expected_messages() -> dict[str, list[str]]:
    return {c.cid: [m["id"] for m in c.messages] for c in main_chats()}


def stored_messages(account) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cid, mid in (
        ServiceformMessage.objects.filter(account=account)
        .order_by("chat__external_id", "position")
        .values_list("chat__external_id", "message_id")
    ):
        out.setdefault(cid, []).append(mid)
    return out


def assert_every_chat_and_message_once(account) -> None:
    chats = ServiceformChat.objects.filter(account=account)
    assert chats.count() == SEED_SIZE
    assert stored_messages(account) == expected_messages()
    # Exactly once: the keys are unique, and no message under a wrong chat.
    keys = ServiceformMessage.objects.filter(account=account).values_list(
        "external_id", flat=True
    )
    assert len(keys) == len(set(keys)) == sum(c.message_count for c in main_chats())


@HISTORY
def test_backfill_stores_every_chat_and_message_once_then_resyncs_in_two_requests(
    reseller, sandbox, live_server, monkeypatch
):
    starts = Counter(main_chats().values_list("started", flat=True))
    assert max(starts.values()) >= 2  # the seed has chats sharing a second
    account = serviceform(reseller, live_server)
    bodies = sent_chat_bodies(monkeypatch)
    first = run(account, "chats")
    assert first.created == SEED_SIZE and first.pages >= SEED_SIZE // LIMIT // 2
    assert all(b["showMessages"] for b in bodies)  # new chats: one request a page
    assert len(bodies) < 2 * SEED_SIZE // LIMIT
    assert_every_chat_and_message_once(account)
    chats = ServiceformChat.objects.filter(account=account)
    # The sandbox's chats are all over: ended, and so are their activities.
    assert not chats.filter(status=ChatStatus.OPEN).exists()
    assert not chats.filter(ended_at__isnull=True).exists()
    assert not chats.filter(messages_changed_at__isnull=True).exists()
    acts = Activity.objects.filter(account=account, kind=ActivityKind.CHAT)
    assert acts.count() == SEED_SIZE
    assert not acts.filter(status=ActivityStatus.LIVE).exists()
    vendor = main_chats().exclude(agent_id="").order_by("started", "cid")[3]
    row = chats.get(external_id=vendor.cid)
    assert (row.started_at, row.ended_at) == (vendor.started, vendor.ended)
    assert (row.agent_external_id, row.visitor_uid) == (vendor.agent_id, vendor.uid)
    assert row.is_chatbot is False and row.message_count == len(vendor.messages)
    assert row.duration == int((vendor.ended - vendor.started).total_seconds())
    cursor = load_cursor(account.pk, "chats")
    assert set(cursor) == {"high_water"}

    synced = ServiceformMessage.objects.filter(account=account).latest("synced_at")
    bodies.clear()
    again = run(account, "chats")
    assert (again.created, again.updated) == (0, 0)
    assert len(bodies) <= 2
    # The look-back part is listed without messages (none was refetched).
    assert [b["showMessages"] for b in bodies] == [False, True]
    latest = ServiceformMessage.objects.filter(account=account).latest("synced_at")
    assert latest.synced_at == synced.synced_at


@HISTORY
def test_a_changed_chat_has_its_messages_refetched_and_the_others_not(
    reseller, sandbox, live_server, monkeypatch
):
    account = serviceform(reseller, live_server)
    run(account, "chats")
    newest = main_chats().order_by("-started", "-cid").first()
    later = newest.ended + timedelta(seconds=30)
    newest.messages = [
        *newest.messages,
        {
            "id": "m-late",
            "message": "One more thing.",
            "type": "text",
            "sender": "visitor",
            "author": "",
            "timestamp": int(later.timestamp()),
        },
    ]
    newest.message_count += 1
    newest.ended = later
    newest.save()
    bodies = sent_chat_bodies(monkeypatch)
    # A look-back that reaches just past the newest chat's start.
    reach = int((timezone.now() - newest.started).total_seconds()) + 60
    with override_settings(SERVICEFORM_CHAT_LOOKBACK_SECONDS=reach):
        changed = run(account, "chats")
    assert changed.updated == 1 and changed.created == 0
    listed, refetch, new = bodies
    assert not listed["showMessages"] and listed["limit"] == LIMIT
    assert refetch["showMessages"] and new["showMessages"]
    # The refetch window holds the changed chat only (one second wide).
    start = datetime.fromisoformat(refetch["startTime"].replace("Z", "+00:00"))
    assert start == newest.started.astimezone(UTC)
    row = ServiceformChat.objects.get(account=account, external_id=newest.cid)
    assert row.message_count == len(newest.messages)
    assert row.messages_changed_at == later.replace(microsecond=0)
    assert stored_messages(account)[newest.cid][-1] == "m-late"
    assert_every_chat_and_message_once(account)


@HISTORY
def test_a_failed_backfill_resumes_after_the_last_stored_group(
    reseller, sandbox, live_server, monkeypatch
):
    """Pages commit in groups with their cursor: after a failure storing the
    third group the next run asks from the end of the second and stores the
    rest, each chat once."""
    account = serviceform(reseller, live_server)
    real = sync.store_chats
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(sync, "store_chats", failing)
    failed = execute_stream(account.pk, "chats")
    assert failed.status == RunStatus.FAILED
    stored = ServiceformChat.objects.filter(account=account).count()
    assert 0 < stored < SEED_SIZE  # two groups of two pages
    cursor = load_cursor(account.pk, "chats")
    assert cursor["run"]["pass"] == "new" and cursor["run"]["page"]["start"]
    monkeypatch.setattr(sync, "store_chats", real)
    bodies = sent_chat_bodies(monkeypatch)
    resumed = run(account, "chats")
    assert bodies[0]["startTime"] == cursor["run"]["page"]["start"]
    assert resumed.created == SEED_SIZE - stored
    assert_every_chat_and_message_once(account)
    assert set(load_cursor(account.pk, "chats")) == {"high_water"}


@HISTORY
@override_settings(
    VENDOR_READ_TIMEOUT=0.5, VENDOR_MAX_RETRIES=1, VENDOR_BACKOFF_MAX=0.2
)
@pytest.mark.slow
def test_a_backfill_through_20_percent_faults_stores_everything_once(
    reseller, sandbox, live_server
):
    account = serviceform(reseller, live_server)
    set_faults(
        "serviceform",
        MAIN_KEY,
        rate_429=0.05,
        rate_500=0.05,
        rate_timeout=0.05,
        rate_malformed=0.05,
        retry_after_seconds=1,
        timeout_seconds=1.0,
        seed=3,
    )
    statuses = []
    try:
        for _ in range(60):
            result = execute_stream(account.pk, "chats")
            statuses.append(result.status)
            if result.status == RunStatus.SUCCEEDED:
                break
            # The account is failing, not disabled: the next run goes on.
            assert result.status == RunStatus.FAILED
    finally:
        clear_faults("serviceform", MAIN_KEY)
    assert statuses[-1] == RunStatus.SUCCEEDED
    assert RunStatus.FAILED in statuses  # some runs failed and were resumed
    assert_every_chat_and_message_once(account)
    again = run(account, "chats")
    assert (again.created, again.updated) == (0, 0)


def test_chat_status_from_the_payload_or_its_idle_time():
    now = timezone.now()

    def chat(**d):
        return Chat.parse({"cid": "c1", **d})

    recent = int((now - timedelta(minutes=2)).timestamp())
    old = int((now - timedelta(hours=2)).timestamp())
    assert sync.chat_status(chat(changed=recent), now) == ChatStatus.OPEN
    assert sync.chat_status(chat(lastMessageTime=old), now) == ChatStatus.ENDED
    assert sync.chat_status(chat(changed=recent, status="closed"), now) == "ended"
    assert sync.chat_status(chat(changed=recent, ended=recent), now) == "ended"
    row = sync.chat_row(chat(changed=recent), now, with_messages=False)
    assert row["raw"]["_status"] == "open" and row["ended_at"] is None
    # The derived status is in the fingerprinted payload: going idle is a write.
    later = sync.chat_row(
        chat(changed=recent), now + timedelta(hours=1), with_messages=False
    )
    assert later["raw"] != row["raw"] and later["status"] == "ended"


@HISTORY
def test_an_open_chat_behind_the_look_back_is_closed(reseller, sandbox, live_server):
    account = serviceform(reseller, live_server)
    run(account, "chats")
    old = ServiceformChat.objects.filter(account=account).order_by("started_at")[0]
    ServiceformChat.objects.filter(pk=old.pk).update(
        status=ChatStatus.OPEN, ended_at=None
    )
    run(account, "chats")
    old.refresh_from_db()
    assert old.status == ChatStatus.ENDED and old.ended_at == old.last_message_at
    act = Activity.objects.get(account=account, external_id=old.external_id)
    assert act.status == ActivityStatus.ENDED


def test_spaces_and_items_then_vanished_ones_removed(reseller, sandbox, live_server):
    account = serviceform(reseller, live_server)
    first = run(account, "spaces")
    vendor_spaces = Space.objects.filter(account__api_key=MAIN_KEY)
    vendor_items = Item.objects.filter(space__account__api_key=MAIN_KEY)
    spaces = ServiceformSpace.objects.filter(account=account)
    items = ServiceformItem.objects.filter(account=account)
    assert spaces.count() == vendor_spaces.count() == 3
    assert items.count() == vendor_items.count() == first.created - 3
    request = spaces.get(name="Service requests")
    assert [f.machine for f in request.field_defs()][:2] == ["customer", "notes"]
    vendor_item = vendor_items.filter(space__name="Service requests").first()
    item = items.get(external_id=vendor_item.item_id)
    assert item.space == request and item.primary_field == vendor_item.primary_field
    assert item.values["status"] == vendor_item.values["status"]
    assert (item.created, item.updated) == (vendor_item.created, vendor_item.updated)

    again = run(account, "spaces")
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    # An item deleted at Serviceform, and a whole space with its items.
    vendor_item.delete()
    products = vendor_spaces.get(name="Products")
    product_ids = set(
        vendor_items.filter(space=products).values_list("item_id", flat=True)
    )
    assert product_ids
    products.delete()
    later = run(account, "spaces")
    assert later.removed == 2 + len(product_ids)
    gone = items.filter(removed_at__isnull=False)
    assert set(gone.values_list("external_id", flat=True)) == {
        vendor_item.item_id,
        *product_ids,
    }
    assert spaces.get(name="Products").removed_at is not None


def test_leads_full_listing_unchanged_ones_not_written(reseller, sandbox, live_server):
    account = serviceform(reseller, live_server)
    vendor = Lead.objects.filter(account__api_key=MAIN_KEY)
    first = run(account, "leads")
    leads = ServiceformLead.objects.filter(account=account)
    assert leads.count() == vendor.count() == first.created > 0
    sample = vendor.order_by("created").first()
    row = leads.get(external_id=sample.lead_id)
    assert row.email == sample.data.get("email", "")
    assert row.created == sample.created
    assert row.form_name == sample.data.get("tool_name", "")
    again = run(account, "leads")
    assert (again.created, again.updated, again.unchanged) == (0, 0, vendor.count())
    sample.delete()
    later = run(account, "leads")
    assert later.removed == 1
    assert leads.get(external_id=sample.lead_id).removed_at is not None


def test_statistics_per_day_into_the_control_room(reseller, sandbox, live_server):
    account = serviceform(reseller, live_server)
    first = run(account, "statistics")
    assert first.requests == 1 and first.created == sync.stat_days()
    days = ServiceformChatStatDay.objects.filter(account=account)
    assert days.count() == sync.stat_days()
    since = timezone.now().astimezone(UTC).date() - timedelta(days=sync.stat_days() - 1)
    per_day = Counter(
        s.astimezone(UTC).date()
        for s in main_chats().values_list("started", flat=True)
        if s.astimezone(UTC).date() >= since
    )
    assert per_day  # the seed has chats in the window
    for day in days:
        assert day.chats == per_day.get(day.day, 0), day.day
        if day.chats:
            assert day.chatbot_chats + day.human_chats == day.chats
            assert day.avg_duration is not None and day.messages > 0
    busy = max(per_day, key=per_day.get)
    usage = UsageDay.objects.get(account=account, day=busy)
    assert usage.figures["chats"] == per_day[busy]
    assert (
        "avg_response_seconds" in usage.figures or "avg_chat_seconds" in usage.figures
    )
    again = run(account, "statistics")
    assert (again.created, again.updated) == (0, 0)
