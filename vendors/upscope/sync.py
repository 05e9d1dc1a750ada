"""Upscope streams: map vendor answers onto local rows through vendorkit.bulk.

- `visitors` (live, every minute): `list` with the `online` token, at most
  `max_results` (10, Upscope's own cap) visitors. Stored visitors no longer
  listed online are marked offline: all of them when the answer was not full
  (it was the whole online list); when it was full (more may be online than
  Upscope answers), each is asked for by short id (`visitors/{id}`, bounded per
  run), as Upscope advises when the id is known.
- `sessions` (history): `cobrowsing_sessions/list` paged by `after_id`, and
  once a backfill is done incremental by `updated_after` (the newest update
  seen minus a look-back, SYNC_LOOKBACK_SECONDS). Each page's rows and the
  cursor (`after` = its `last_id`) commit together, so a failed run resumes at
  the page after the last one stored. A session's visitor name and tags come
  from the stored visitor (`UpscopeVisitor.labels_for`). Rows pass through the
  merge rule (`SESSION_LIFECYCLE`) so neither a late page nor a late
  session-end post (webhooks.py) moves a session backwards.
- `usage` (hourly): one `usage` snapshot an hour, and its figures into the
  control room's UsageDay (`record_vendor_usage`).
- `agents` (daily): `agents/lookup` of every e-mail the workspace's agent
  directory and members have, and of the external agent ids the sessions
  carry; the agents found are reconciled (one no longer found is removed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cobrowse_portal.core.models import AgentIdentity
from cobrowse_portal.vendorkit.activity import (
    _zone,
    normalise_email,
    record_vendor_usage,
    update_rows,
)
from cobrowse_portal.vendorkit.bulk import Counts, reconcile, upsert
from cobrowse_portal.vendorkit.errors import NotFound
from cobrowse_portal.vendorkit.lenient import as_dt
from cobrowse_portal.vendorkit.merge import Lifecycle, Stage, keep_newer
from cobrowse_portal.vendorkit.pagination import grouped, prefetch
from cobrowse_portal.vendorkit.runs import RunContext

from .client import MAX_RESULTS, search_query
from .models import (
    UpscopeAgent,
    UpscopeSession,
    UpscopeUsage,
    UpscopeVisitor,
    visitor_label,
)
from .schemas import Agent, Session, Usage, Visitor

log = logging.getLogger("cobrowse.vendors.upscope")

#: Visitors asked for one by one per `visitors` run when the online listing was
#: full (the rest wait for the next minute's run).
STALE_CHECKS = 20
#: Lookups per `agents` run (each is one request; the rest wait a day).
MAX_LOOKUPS = 500
#: The sessions stream's passes: new sessions by id, then changed ones by time.
NEW, CHANGED = "new", "changed"

# --- the merge rule -----------------------------------------------------------
#: Session stages: ongoing, then ended.
ONGOING, ENDED = 1, 2


def _sequence(updated_at: datetime | None) -> int | None:
    """Upscope's last change to a session as an orderable number (microseconds):
    the `updated_after` filter implies the record carries one (vendor-apis.md
    §3.10: undocumented); where it is missing, stages and times decide."""
    if updated_at is None:
        return None
    return int(updated_at.timestamp() * 1_000_000)


def session_stage(values) -> Stage:
    """The stage of a pulled row, a posted session or a stored row (field
    values): ended at `ended_at`, else ongoing since `started_at`; ordered by
    `updated_at` where both sides have it."""
    sequence = _sequence(values.get("updated_at"))
    if not values.get("is_ongoing"):
        return Stage(ENDED, values.get("ended_at"), sequence)
    return Stage(ONGOING, values.get("started_at"), sequence)


#: A pull or a post never re-opens an ended session, and never replaces a newer
#: state of it (a later `updated_at`) with an older one. `last` is unset on
#: purpose: an ended session can still be updated later, and a stale ended copy
#: must not undo that.
SESSION_LIFECYCLE = Lifecycle(
    stage=session_stage,
    fields=("is_ongoing", "ended_at", "duration", "updated_at"),
    reads=("started_at",),
)


# --- rows ---------------------------------------------------------------------
#: Fields of a running session that change at every read.
RUNNING_LENGTHS = (
    "length_seconds",
    "formatted_length",
    "call_length_seconds",
    "formatted_call_length",
)


def session_row(s: Session, labels: dict[str, tuple[str, list[str]]]) -> dict:
    """An UpscopeSession row from a Session; `labels` is short_id -> (label,
    tags) of the stored visitors (`UpscopeVisitor.labels_for`)."""
    first = s.agents[0] if s.agents else None
    label, tags = labels.get(s.visitor_id, ("", []))
    raw = dict(s.raw)
    if s.ongoing:
        # A running session's length grows at every read: left out of the
        # fingerprinted payload, so a re-sync does not rewrite every running
        # session it sees (the end brings Upscope's final length).
        for key in RUNNING_LENGTHS:
            raw.pop(key, None)
    if label or tags:
        # Not Upscope's: folded in so that a visitor named later is written.
        raw["_visitor"] = {"label": label, "tags": tags}
    duration = s.length_seconds
    if duration is None and s.started_at and s.ended_at and not s.ongoing:
        duration = max(0, int((s.ended_at - s.started_at).total_seconds()))
    agents = [a for a in s.raw.get("agents") or [] if isinstance(a, dict)]
    return {
        "external_id": s.id,
        "visitor_short_id": s.visitor_id[:64],
        "visitor_label": label[:200],
        "tags": tags,
        "agent_id": first.id[:64] if first else "",
        "agent_name": first.name[:200] if first else "",
        "agent_identifier": first.external_id[:200] if first else "",
        "agents": agents,
        "started_at": s.started_at,
        "ended_at": None if s.ongoing else s.ended_at,
        "updated_at": s.updated_at,
        "duration": duration,
        "call_duration": s.call_length_seconds,
        "went_live": s.went_live,
        "features_used": s.features_used,
        "metadata": s.metadata,
        "team_id": s.team_id[:64],
        "is_ongoing": s.ongoing,
        "raw": raw,
    }


def session_rows(account, sessions: Iterable[Session]) -> list[dict]:
    sessions = [s for s in sessions if s.id]
    labels = UpscopeVisitor.labels_for(account, [s.visitor_id for s in sessions])
    return [session_row(s, labels) for s in sessions]


def store_sessions(account, sessions: Iterable[Session]) -> Counts:
    """Upsert sessions (pulled or posted), merged with what is stored."""
    rows = keep_newer(
        UpscopeSession, account, session_rows(account, sessions), SESSION_LIFECYCLE
    )
    return upsert(UpscopeSession, account, rows)


def visitor_row(v: Visitor) -> dict:
    # The embedded `sessions` (up to 50) are left out of `raw`: the sessions
    # stream stores them, and a visitor row is rewritten every minute online.
    raw = {k: val for k, val in v.raw.items() if k != "sessions"}
    integration_ids = v.raw.get("integration_ids")
    return {
        "external_id": v.short_id,
        "lookup_code": v.lookup_code[:8],
        "unique_id": v.unique_id[:200],
        "email": v.email[:254],
        "call_name": v.call_name[:200],
        "identities": v.identities,
        "tags": v.tags,
        # Not in the docs' visitor object: kept when a payload carries it.
        "integration_ids": [str(i) for i in integration_ids if isinstance(i, str)]
        if isinstance(integration_ids, list)
        else [],
        "integration": v.integration[:60],
        "ip_address": v.ip_address[:45],
        "browser_name": v.browser_name[:100],
        "device_name": v.device_name[:100],
        "device_type": v.device_type[:20],
        "location_city": v.location_city[:100],
        "location_country": v.location_country[:8],
        "location_country_name": v.location_country_name[:100],
        "last_url": v.last_url[:2000],
        "added_at": v.added_at,
        "last_seen_at": v.last_seen_at,
        "is_online": v.is_online,
        "is_in_session": v.is_in_session,
        "is_waiting_for_call": v.is_waiting_for_call,
        "raw": raw,
    }


def store_visitors(account, visitors: Iterable[Visitor]) -> Counts:
    """Upsert visitors, and give their sessions the visitor's (new) name and
    tags (the activity index follows)."""
    rows = {v.short_id: visitor_row(v) for v in visitors if v.short_id}
    counts = upsert(UpscopeVisitor, account, list(rows.values()))
    for short_id, row in rows.items():
        label = visitor_label(
            row["call_name"], row["email"], row["unique_id"], row["identities"]
        )
        if not label and not row["tags"]:
            continue
        stale = UpscopeSession.objects.filter(
            account=account, visitor_short_id=short_id
        ).exclude(visitor_label=label[:200])
        if stale.exists():
            update_rows(stale, account, visitor_label=label[:200], tags=row["tags"])
    return counts


# --- visitors online (live) -----------------------------------------------------
def pull_visitors_online(ctx: RunContext) -> None:
    online = ctx.client.list_visitors(
        search=search_query(online=True), max_results=MAX_RESULTS
    )
    listed = [v for v in online if v.short_id]
    ctx.add(store_visitors(ctx.account, listed))
    seen = {v.short_id for v in listed}
    stale = UpscopeVisitor.objects.filter(
        account=ctx.account, is_online=True, removed_at__isnull=True
    ).exclude(external_id__in=seen)
    offline = (
        stale
        if len(online) < MAX_RESULTS
        # Least recently refreshed first, so that all of them get their turn.
        else _checked_offline(
            ctx,
            list(
                stale.order_by(F("synced_at").asc(nulls_first=True), "pk").values_list(
                    "external_id", flat=True
                )
            ),
        )
    )
    # The fingerprint is cleared so that the next sight of a visitor is written
    # even if Upscope's answer is the same as before it went offline.
    ctx.counts.updated += offline.update(
        is_online=False, is_in_session=False, fingerprint=""
    )
    ctx.page_done()


def _checked_offline(ctx: RunContext, short_ids: list[str]):
    """The listing may have been cut at `max_results`: ask for each stored
    online visitor it did not name (at most STALE_CHECKS a run). Returns the
    stored visitors to mark offline (gone ones are marked removed too)."""
    found, gone = [], []
    for short_id in short_ids[:STALE_CHECKS]:
        try:
            found.append(ctx.client.get_visitor(short_id))
        except NotFound:
            gone.append(short_id)
    ctx.add(store_visitors(ctx.account, found))
    if gone:
        ctx.counts.removed += UpscopeVisitor.objects.filter(
            account=ctx.account, external_id__in=gone
        ).update(removed_at=timezone.now())
    return UpscopeVisitor.objects.filter(
        account=ctx.account, is_online=True, external_id__in=gone
    )


# --- sessions (history) ---------------------------------------------------------
def _newest(rows: list[dict], seen: datetime | None) -> datetime | None:
    """The newest change among `rows` (`updated_at`, else end or start)."""
    stamps = [
        r["updated_at"] or r["ended_at"] or r["started_at"]
        for r in rows
        if r["updated_at"] or r["ended_at"] or r["started_at"]
    ]
    return max([*stamps, seen] if seen else stamps) if stamps else seen


#: Sessions written (and their cursor committed) per group of pages.
GROUP_ROWS = 1000


def pull_sessions(ctx: RunContext) -> None:
    """Two passes, each page committed with the cursor past it:

    1. new sessions by `after_id` (the backfill, then the sessions after the
       last id seen: Upscope pages by id, so a new session is found whatever
       its `updated_at` says);
    2. after the first run, changed sessions by `updated_after` (the newest change
       seen minus the look-back; Upscope's filter is "after", so the edge is
       inside the window): ends, lengths, a late agent.

    A failed run resumes at the page after the last one stored, in its pass."""
    cursor = ctx.cursor
    committed = as_dt(cursor.get("high_water"))
    last_id = cursor.get("last_id")
    phase = cursor.get("phase") or NEW
    after = cursor.get("after")  # a failed run's position in `phase`
    if after:
        since = as_dt(cursor.get("since"))
    else:
        lookback = timedelta(seconds=settings.SYNC_LOOKBACK_SECONDS)
        since = committed - lookback if committed else None
    seen_max = as_dt(cursor.get("seen_max"))

    def saved(phase: str, after) -> dict:
        return {
            "high_water": committed.isoformat() if committed else None,
            "last_id": last_id,
            "phase": phase,
            "since": since.isoformat() if since else None,
            "after": after,
            "seen_max": seen_max.isoformat() if seen_max else None,
        }

    def store(pages, phase: str) -> None:
        nonlocal seen_max, last_id
        # Upscope pages hold 100 sessions: written ten pages at a time.
        # Grouped in the fetching thread: it gathers the next group while
        # this one is written (a page ahead would leave it idle for nine).
        for page in prefetch(grouped(pages, GROUP_ROWS)):
            rows = session_rows(ctx.account, page.items)
            seen_max = _newest(rows, seen_max)
            if phase == NEW and page.items:
                last_id = page.items[-1].id or last_id
            # The page's rows and the cursor past them commit together.
            with transaction.atomic():
                rows = keep_newer(UpscopeSession, ctx.account, rows, SESSION_LIFECYCLE)
                ctx.add(upsert(UpscopeSession, ctx.account, rows))
                ctx.page_done(saved(phase, page.cursor.get("after")))

    if phase == NEW:
        start = after or last_id
        store(ctx.client.cobrowsing_sessions(resume=start and {"after": start}), NEW)
        after = None
    if committed is not None:  # not the first run: what changed since
        resume = {"after": after} if after else None
        changed = ctx.client.cobrowsing_sessions(updated_after=since, resume=resume)
        store(changed, CHANGED)
    newest = max(filter(None, [committed, seen_max]), default=None)
    ctx.save_cursor(
        {"high_water": newest.isoformat() if newest else None, "last_id": last_id}
    )


# --- usage (hourly) -------------------------------------------------------------
def usage_row(u: Usage, taken_at: datetime) -> dict:
    return {
        "external_id": taken_at.strftime("%Y-%m-%dT%H"),
        "taken_at": taken_at,
        "agents_last_30_days": u.agents_last_30_days,
        "agents_today": u.agents_today,
        "sessions_last_30_days": u.sessions_last_30_days,
        "sessions_now": u.sessions_now,
        "sessions_today": u.sessions_today,
        "session_seconds_last_30_days": u.session_seconds_last_30_days,
        "session_seconds_today": u.session_seconds_today,
        "visitors_last_24_hrs": u.visitors_last_24_hrs,
        "visitors_online_now": u.visitors_online_now,
        "raw": u.raw,
    }


def usage_figures(u: Usage) -> dict:
    """The control room's vendor figures of the day. Upscope's "today" is the
    last 24 hours (the docs), not a calendar day: the latest snapshot of a day
    is taken as that day's (as SameSurf's overview)."""
    figures = {
        "sessions": u.sessions_today,
        "session_seconds": u.session_seconds_today,
        "agents": u.agents_today,
        "visitors": u.visitors_last_24_hrs,
        "visitors_online": u.visitors_online_now,
    }
    return {k: v for k, v in figures.items() if v is not None}


def pull_usage(ctx: RunContext) -> None:
    """One snapshot an hour (a re-run within the hour updates it)."""
    u = ctx.client.usage()
    now = timezone.now()
    ctx.add(upsert(UpscopeUsage, ctx.account, [usage_row(u, now)]))
    figures = usage_figures(u)
    if figures:
        record_vendor_usage(
            ctx.account, now.astimezone(_zone(ctx.account)).date(), figures
        )
    ctx.page_done()


# --- agents (daily) -------------------------------------------------------------
def directory_emails(account) -> list[str]:
    """The e-mails of the account's workspace: its agent directory (people
    matched across vendors) and its members, normalised, sorted."""
    emails = set(
        AgentIdentity.objects.filter(workspace_id=account.workspace_id).values_list(
            "email", flat=True
        )
    )
    emails |= set(
        get_user_model()
        .objects.filter(memberships__workspace_id=account.workspace_id)
        .values_list("email", flat=True)
    )
    return sorted({normalise_email(e) for e in emails} - {""})


def agent_row(a: Agent, looked_up_by: str, email: str = "") -> dict:
    starts = [s.started_at for s in a.sessions if s.started_at]
    last = max(starts) if starts else None
    # The embedded sessions (its last 10) are not kept in `raw`; the newest
    # start is, so that a new session of the agent is written.
    raw = {k: v for k, v in a.raw.items() if k != "sessions"}
    raw["_last_session_at"] = last.isoformat() if last else None
    return {
        "external_id": a.id,
        "name": a.name[:200],
        "email": (a.email or email)[:254],
        "agent_identifier": a.external_id[:200],
        "kind": a.kind[:40],
        "looked_up_by": looked_up_by,
        "last_session_at": last,
        "raw": raw,
    }


def pull_agents(ctx: RunContext) -> None:
    """Look up the directory's e-mails (Upscope users) and the sessions'
    external agent ids (Co-Browsing API agents); reconcile what was found."""
    rows: dict[str, dict] = {}
    budget = MAX_LOOKUPS
    for email in directory_emails(ctx.account)[:budget]:
        budget -= 1
        try:
            agent = ctx.client.lookup_agent(email=email)
        except NotFound:
            continue
        if agent.id:
            rows[agent.id] = agent_row(agent, "email", email)
    known = {r["agent_identifier"] for r in rows.values()}
    externals = (
        UpscopeSession.objects.filter(account=ctx.account)
        .exclude(agent_identifier="")
        .order_by("agent_identifier")
        .values_list("agent_identifier", flat=True)
        .distinct()
    )
    for external_id in list(externals[: max(0, budget)]):
        if external_id in known:
            continue
        try:
            agent = ctx.client.lookup_agent(external_id=external_id)
        except NotFound:
            continue
        if agent.id and agent.id not in rows:
            rows[agent.id] = agent_row(agent, "external_id")
    ctx.add(reconcile(UpscopeAgent, ctx.account, list(rows.values())))
    ctx.page_done()
