"""SameSurf streams: map vendor pages onto local rows through vendorkit.bulk.

- `running` (live): `runningrooms`, every room listed is running; a stored
  running room no longer listed has ended (only when the listing was whole).
- `analytics` (history): `analyticsrooms` by date window (`start_date` =
  the newest start seen minus a look-back, `>=` at the edge; `end_date` fixed
  when a window opens, so pages do not shift under it), resumable from the
  saved `skip`. A re-sync with nothing new is one request.
- `overview` (usage, hourly): `analyticsoverview` snapshots, feeding the day's
  vendor figures in the control room's UsageDay.
- `subscriptions` (daily): SameSurf documents no call listing a reseller's
  subscriptions (and we do not invent one): the rows the portal created are
  reconciled by checking each stored API key with `analyticsoverview` signed by
  that key (rejected keys are flagged; figures refreshed).

Room identity (see models.py): one row per real room. Both room streams read
the stored rows of the page's room numbers in one query and give each pulled
room the key of the row it is, adopting a running-born row (no version yet)
when analytics names its (number, version).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import router
from django.utils import timezone

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.activity import (
    _zone,
    record_vendor_usage,
    rows_by_keys,
    update_rows,
)
from cobrowse_portal.vendorkit.bulk import upsert
from cobrowse_portal.vendorkit.pagination import prefetch
from cobrowse_portal.vendorkit.runs import RunContext

from .models import (
    ADOPT_SECONDS,
    PENDING_ADOPTION,
    SameSurfApiKey,
    SameSurfRoom,
    SameSurfSubscription,
    SameSurfUsage,
    analytics_external_id,
    running_external_id,
)
from .schemas import AnalyticsOverview, AnalyticsRoom, RunningRoom, as_dt

log = logging.getLogger("cobrowse.vendors.samesurf")

#: The analytics window reaches back at least this far behind the newest start
#: it has seen: SameSurf lists a room in analytics once it has ended, under its
#: *start* date, so a room that started before the newest one seen can still
#: arrive later. Rooms seen running are waited for explicitly (PENDING_ADOPTION).
MIN_LOOKBACK = timedelta(hours=1)


def _stored_by_number(account, numbers) -> dict[str, list[tuple]]:
    """number -> [(external_id, version, started_at, is_running, leader, invitee)]
    of the stored rooms with these numbers, in one plain query per 1,000 numbers
    (the ORM's per-parameter work on a 1,000-number IN costs more than the query)."""
    out: dict[str, list[tuple]] = {}
    numbers = list(set(numbers))
    using = router.db_for_read(SameSurfRoom)
    fields = [
        SameSurfRoom._meta.get_field(n)
        for n in (
            "number",
            "external_id",
            "version",
            "started_at",
            "is_running",
            "leader_link",
            "invitee_link",
        )
    ]
    for row in rows_by_keys(
        SameSurfRoom, account, fields, numbers, using=using, column="number"
    ):
        out.setdefault(row["number"], []).append(
            tuple(row[f.attname] for f in fields[1:])
        )
    return out


def _close(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return True  # nothing to tell them apart: the same use of the number
    return abs((a - b).total_seconds()) <= ADOPT_SECONDS


# --- running rooms (live) ---
def running_row(r: RunningRoom, stored: list[tuple]) -> dict:
    match = None
    for ext, _version, started, is_running, leader, invitee in stored:
        # A number runs once at a time: a stored running row of it is this room;
        # otherwise a stored use that started at (about) the same time.
        if is_running or _close(started, r.started_at):
            match = (ext, leader, invitee)
            break
    ext = match[0] if match else running_external_id(r.room, r.started_at)
    # Links the portal stored from `create` (where tokens tell leader from
    # invitee) are kept; otherwise the private invitation is taken as the
    # leader's (CreatedRoom's rule; the docs' examples disagree).
    leader = (match and match[1]) or r.private_invitation
    invitee = (match and match[2]) or r.public_invitation
    return {
        "external_id": ext,
        "number": r.room,
        "title": r.title[:300],
        "started_at": r.started_at,
        "is_running": True,
        "leader_link": leader[:500],
        "invitee_link": invitee[:500],
        "raw": r.raw,
    }


def pull_running_rooms(ctx: RunContext) -> None:
    rooms: list[RunningRoom] = []
    total = None
    for page in ctx.client.running_rooms():
        rooms += page.items
        total = page.total
    stored = _stored_by_number(ctx.account, [r.room for r in rooms if r.room])
    rows = {}
    for r in rooms:
        if r.room:
            row = running_row(r, stored.get(r.room, []))
            rows[row["external_id"]] = row
    ctx.add(upsert(SameSurfRoom, ctx.account, list(rows.values())))
    # Skip + limit over a list that changes while it is read can skip a room
    # (one ending shifts the rest): end rooms only after a whole listing.
    if total is None or len(rows) >= total:
        now = timezone.now()
        gone = SameSurfRoom.objects.filter(
            account=ctx.account, is_running=True
        ).exclude(external_id__in=list(rows))
        # Ended between this poll and the last one: now is an upper bound (the
        # index takes the duration from start and end); analytics later brings
        # SameSurf's own duration. The fingerprint is cleared so that a room
        # listed again (a flaky listing) is written as live again.
        ctx.counts.updated += update_rows(
            gone, ctx.account, is_running=False, ended_at=now, fingerprint=""
        )
    ctx.page_done()


# --- analytics rooms (history) ---
def analytics_rows(account, rooms: list[AnalyticsRoom]) -> list[dict]:
    """The page's rooms as rows, each keyed to the stored row it is (one query)."""
    stored = _stored_by_number(account, [r.room for r in rooms if r.room])
    taken: set[str] = set()
    rows: dict[str, dict] = {}
    for r in rooms:
        if not r.room:
            continue
        uses = stored.get(r.room, [])
        ext = next((u[0] for u in uses if u[1] == r.version), None)
        if ext is None:
            # Adopt the running-born row of this use (no version yet).
            ext = next(
                (
                    u[0]
                    for u in uses
                    if u[1] is None and u[0] not in taken and _close(u[2], r.date)
                ),
                None,
            )
        ext = ext or analytics_external_id(r.room, r.version)
        taken.add(ext)
        ended = (
            r.date + timedelta(seconds=r.duration) if r.date and r.duration else None
        )
        rows[ext] = {
            "external_id": ext,
            "number": r.room,
            "version": r.version,
            "title": r.title[:300],
            "started_at": r.date,
            "ended_at": ended,
            "duration": r.duration,
            "recordings": max(0, r.recordings),
            "experience": r.experience[:100],
            "raw": r.raw,
        }
    return list(rows.values())


def _window_start(ctx: RunContext, committed: datetime | None) -> datetime | None:
    """Where a new window opens: the look-back behind the newest start seen, or
    earlier for a room seen running whose version analytics has not named yet."""
    if committed is None:
        return None
    lookback = max(timedelta(seconds=settings.SYNC_LOOKBACK_SECONDS), MIN_LOOKBACK)
    start = committed - lookback
    waiting = (
        SameSurfRoom.objects.filter(
            account=ctx.account,
            version__isnull=True,
            is_running=False,
            started_at__gte=timezone.now() - PENDING_ADOPTION,
        )
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return min(start, waiting) if waiting else start


def pull_analytics_rooms(ctx: RunContext) -> None:
    """Incremental by start date window; resumes a failed window at its page."""
    cursor = ctx.cursor
    committed = as_dt(cursor.get("high_water"))
    if cursor.get("skip") is not None:  # resume the failed run where it stopped
        start, end = as_dt(cursor.get("start")), as_dt(cursor.get("end"))
        resume = {"skip": cursor["skip"]}
    else:
        # SameSurf takes whole seconds and `end_date` is exclusive: the next
        # whole second, so a room started in this one is in the window.
        now = timezone.now()
        end = now.replace(microsecond=0) + timedelta(seconds=1)
        start = _window_start(ctx, committed)
        resume = None
    seen_max = as_dt(cursor.get("seen_max"))

    def saved(skip):
        return {
            "high_water": committed.isoformat() if committed else None,
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "skip": skip,
            "seen_max": seen_max.isoformat() if seen_max else None,
        }

    pages = ctx.client.analytics_rooms(start=start, end=end, resume=resume)
    for page in prefetch(pages):
        rows = analytics_rows(ctx.account, page.items)
        ctx.add(upsert(SameSurfRoom, ctx.account, rows))
        starts = [r["started_at"] for r in rows if r["started_at"]]
        if starts:
            seen_max = max([*starts, seen_max] if seen_max else starts)
        ctx.page_done(saved(page.cursor.get("skip")))
    newest = max(filter(None, [committed, seen_max]), default=None)
    ctx.save_cursor({"high_water": newest.isoformat() if newest else None})


# --- analytics overview (usage) ---
def overview_row(ov: AnalyticsOverview, taken_at: datetime) -> dict:
    return {
        "external_id": taken_at.strftime("%Y-%m-%dT%H"),
        "taken_at": taken_at,
        "rooms_total": ov.rooms_total,
        "rooms_today": ov.rooms_today,
        "rooms_this_week": ov.rooms_this_week,
        "rooms_this_month": ov.rooms_this_month,
        "average_minutes_all_time": ov.average_minutes_all_time,
        "average_minutes_today": ov.average_minutes_today,
        "average_minutes_this_week": ov.average_minutes_this_week,
        "average_minutes_this_month": ov.average_minutes_this_month,
        "url_latest": ov.url_latest[:1000],
        "url_most_popular": ov.url_most_popular[:300],
        "raw": ov.raw,
    }


def pull_overview(ctx: RunContext) -> None:
    """One snapshot an hour (a re-run within the hour updates it), and today's
    figures into UsageDay. SameSurf does not say which zone its "today" is in;
    it is taken as the workspace's day (the day the rollups count in)."""
    ov = ctx.client.analytics_overview()
    now = timezone.now()
    ctx.add(upsert(SameSurfUsage, ctx.account, [overview_row(ov, now)]))
    figures = {
        "rooms": ov.rooms_today,
        "average_minutes": ov.average_minutes_today,
    }
    figures = {k: v for k, v in figures.items() if v is not None}
    if figures:
        record_vendor_usage(
            ctx.account, now.astimezone(_zone(ctx.account)).date(), figures
        )
    # Recording links are short-lived: none is kept past its expiry.
    from .services import forget_expired_links

    forget_expired_links(ctx.account)
    ctx.page_done()


# --- subscriptions (reseller) ---
def pull_subscriptions(ctx: RunContext) -> None:
    """Reconcile the subscriptions the portal created: SameSurf has no listing
    call, so each stored API key is checked by calling `analyticsoverview`
    signed with it. A key SameSurf rejects (errorcode 101: deleted, or its
    subscription deleted) is flagged `rejected`; a subscription is `ok` while one
    of its keys works, and takes that key's room counts. Nothing is marked
    removed from this: only deleting it from the portal removes a subscription
    (a rejected key may be a SameSurf-side outage of one key)."""
    subs = list(
        SameSurfSubscription.objects.filter(
            account=ctx.account, removed_at__isnull=True
        )
    )
    keys = list(
        SameSurfApiKey.objects.filter(
            account=ctx.account, subscription__in=subs, removed_at__isnull=True
        ).order_by("subscription_id", "id")
    )
    now = timezone.now()
    by_sub: dict[int, AnalyticsOverview | None] = {}
    status: dict[int, str] = {}
    for key in keys:
        client = type(ctx.client)(ctx.account.base_url, key.credentials())
        try:
            ov = client.analytics_overview()
        except errors.AuthError:
            key.check_status = "rejected"
        else:
            key.check_status = "ok"
            by_sub.setdefault(key.subscription_id, ov)
        finally:
            ctx.client.requests_made += client.requests_made
        key.checked_at = now
        status[key.subscription_id] = (
            "ok" if key.subscription_id in by_sub else key.check_status
        )
    SameSurfApiKey.objects.bulk_update(keys, ["check_status", "checked_at"])
    SameSurfSubscription.objects.filter(pk__in=[s.pk for s in subs]).update(
        checked_at=now
    )
    rows = []
    for sub in subs:
        ov = by_sub.get(sub.pk)
        rows.append(
            {
                "external_id": sub.external_id,
                # Stored values (the insert half of the upsert needs them).
                "name": sub.name,
                "license_count": sub.license_count,
                "check_status": status.get(sub.pk, ""),
                "rooms_total": ov.rooms_total if ov else sub.rooms_total,
                "rooms_this_month": ov.rooms_this_month if ov else sub.rooms_this_month,
                # The overview its key answered (no secret in it); on failure,
                # what was stored, plus the status, so a change is written.
                "raw": {
                    **(ov.raw if ov else sub.raw),
                    "_check": status.get(sub.pk, ""),
                },
            }
        )
    ctx.add(upsert(SameSurfSubscription, ctx.account, rows))
    ctx.page_done()
