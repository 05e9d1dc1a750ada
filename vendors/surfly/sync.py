"""Surfly streams: map vendor pages onto local rows through vendorkit.bulk.

Full listings (agents, webhooks, clients, servers) reconcile, so rows gone at
Surfly are marked removed; history is incremental by `min_date` with a look-back
window and resumes from its saved `next` link after a failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from cobrowse_portal.vendorkit.activity import update_rows
from cobrowse_portal.vendorkit.bulk import reconcile, upsert
from cobrowse_portal.vendorkit.errors import AuthError, NotFound
from cobrowse_portal.vendorkit.merge import Lifecycle, Stage, keep_newer
from cobrowse_portal.vendorkit.pagination import prefetch
from cobrowse_portal.vendorkit.runs import RunContext

from .models import (
    CobrowseSession,
    SurflyAgent,
    SurflyClient,
    SurflyCompanyOptions,
    SurflyServer,
    SurflyWebhook,
)
from .schemas import Client, SessionInfo, Webhook, as_dt

#: Session stages: queued and live are one stage (stored rows cannot tell them
#: apart; the event sequence orders them), ended is later.
LIVE, ENDED = 1, 2


def session_stage(values) -> Stage:
    """The stage a stored session, a pulled row or an applied event puts a session
    in; the time is when it entered that stage (Surfly's start_time / end_time)."""
    sequence = values.get("last_event_sequence")
    if values.get("is_active", True) is False or values.get("end_time"):
        return Stage(ENDED, values.get("end_time"), sequence)
    return Stage(LIVE, values.get("start_time"), sequence)


#: A pull never re-activates an ended session (and never undoes a newer end).
SESSION_LIFECYCLE = Lifecycle(
    stage=session_stage,
    fields=("is_active", "end_time", "duration"),
    reads=("start_time", "last_event_sequence"),
    last=ENDED,
)


def upsert_sessions(ctx: RunContext, rows: list[dict]) -> None:
    """Upsert pulled sessions, merged with what webhooks stored (merge rule)."""
    rows = keep_newer(CobrowseSession, ctx.account, rows, SESSION_LIFECYCLE)
    ctx.add(upsert(CobrowseSession, ctx.account, rows))


def session_row(s: SessionInfo) -> dict:
    return {
        "external_id": s.session_id or s.id,
        "api_id": s.id,
        "formatted_id": s.formatted_id or "",
        "agent_id": s.agent_id or "",
        "follower_link": s.follower_link[:500],
        "server": s.server[:200],
        "start_time": s.start_time,
        "end_time": s.end_time,
        "duration": s.duration,
        "participant_num": s.participant_num,
        "successful_start": s.successful_start,
        "queued": s.queued,
        "waiting_time": s.waiting_time,
        "pin": s.pin or "",
        "start_url": s.start_url[:1000],
        "meta": s.meta if s.meta is not None else {},
        "tags": s.tags,
        "options": s.options,
        "is_active": s.is_active,
        "raw": s.raw,
    }


def webhook_row(w: Webhook) -> dict:
    return {
        "external_id": w.id,
        "url": w.url[:500],
        "category": w.category,
        "enabled": w.enabled,
        "ssl_verification": w.ssl_verification,
        "company_id": w.company_id or "",
        "raw": w.raw,
    }


def client_row(c: Client) -> dict:
    return {
        "external_id": c.client_key,
        "company_name": c.company_name[:200],
        "plan": c.plan,
        "agent_count": c.agent_count,
        "widget_key": c.widget_key,
        "domains": c.domains,
        "raw": c.safe_raw(),  # never the client's REST key
    }


def pull_agents(ctx: RunContext) -> None:
    agents = ctx.client.list_agents()
    free = {a.agent_id for a in ctx.client.list_agents(free=True)}
    rows = [
        {
            "external_id": a.agent_id,
            "name": a.name,
            "email": a.email,
            "role": a.role,
            "available": a.available,
            "is_free": a.agent_id in free,
            "last_login": a.last_login,
            # `is_free` is not in the payload, so fold it into the fingerprint.
            "raw": {**a.raw, "_free": a.agent_id in free},
        }
        for a in agents
    ]
    ctx.add(reconcile(SurflyAgent, ctx.account, rows))
    ctx.page_done()


def pull_live_sessions(ctx: RunContext) -> None:
    live = ctx.client.filter_sessions(active_session=True)
    upsert_sessions(ctx, [session_row(s) for s in live])
    # Sessions we still think are live but Surfly no longer lists have ended:
    # fetch each once for its end time and duration.
    seen = {s.session_id or s.id for s in live}
    stale = CobrowseSession.objects.filter(account=ctx.account, is_active=True).exclude(
        external_id__in=seen
    )
    rows = []
    for local in stale[:200]:
        try:
            rows.append(
                session_row(ctx.client.get_session(local.api_id or local.external_id))
            )
        except NotFound:
            update_rows(
                CobrowseSession.objects.filter(pk=local.pk),
                ctx.account,
                is_active=False,
            )
    if rows:
        upsert_sessions(ctx, rows)
    ctx.page_done()


def pull_history(ctx: RunContext) -> None:
    """Incremental by `min_date` (minus a look-back window, `>=` at the edge)."""
    cursor = ctx.cursor
    committed = as_dt(cursor.get("high_water"))
    if cursor.get("next"):
        min_date = cursor.get("min_date")  # resume the failed run where it stopped
        resume = {"next": cursor["next"]}
    else:
        lookback = timedelta(seconds=settings.SYNC_LOOKBACK_SECONDS)
        min_date = (committed - lookback).isoformat() if committed else None
        resume = None
    seen_max: datetime | None = as_dt(cursor.get("seen_max"))
    filters = {"min_date": min_date} if min_date else {}
    try:
        pages = ctx.client.history_pages(resume=resume, **filters)
        for page in prefetch(pages):
            rows = [session_row(s) for s in page.items]
            upsert_sessions(ctx, rows)
            starts = [r["start_time"] for r in rows if r["start_time"]]
            if starts:
                seen_max = max([*starts, seen_max] if seen_max else starts)
            ctx.page_done(
                {
                    "high_water": committed.isoformat() if committed else None,
                    "next": page.cursor.get("next"),
                    "min_date": min_date,
                    "seen_max": seen_max.isoformat() if seen_max else None,
                }
            )
    except NotFound:
        if resume is None:
            raise
        # The saved page no longer exists: start this window again next run.
        ctx.save_cursor({"high_water": cursor.get("high_water")})
        raise
    newest = max(filter(None, [committed, seen_max]), default=None)
    ctx.save_cursor({"high_water": newest.isoformat() if newest else None})


def pull_history_full(ctx: RunContext) -> None:
    """Every history page, resumable; only changed records are written."""
    resume = ctx.cursor if ctx.cursor.get("next") else None
    for page in prefetch(ctx.client.history_pages(resume=resume)):
        upsert_sessions(ctx, [session_row(s) for s in page.items])
        ctx.page_done({"next": page.cursor.get("next")})


def pull_webhooks(ctx: RunContext) -> None:
    rows = [webhook_row(w) for w in ctx.client.list_webhooks()]
    ctx.add(reconcile(SurflyWebhook, ctx.account, rows))
    ctx.page_done()


def pull_clients(ctx: RunContext) -> None:
    try:
        clients = ctx.client.list_clients()
    except AuthError as exc:
        if exc.status == 403:
            return  # not a reseller key: there are no clients to list
        raise
    rows = [client_row(c) for c in clients]
    ctx.add(reconcile(SurflyClient, ctx.account, rows))
    ctx.page_done()


def pull_options(ctx: RunContext) -> None:
    options = ctx.client.get_options()
    row = {"external_id": "company", "options": options, "raw": options}
    ctx.add(upsert(SurflyCompanyOptions, ctx.account, [row]))
    ctx.page_done()


def pull_servers(ctx: RunContext) -> None:
    rows = [
        {
            "external_id": s.id,
            "description": s.description[:200],
            "region": s.region,
            "ips": s.ips,
            "raw": s.raw,
        }
        for s in ctx.client.list_servers()
    ]
    ctx.add(reconcile(SurflyServer, ctx.account, rows))
    ctx.page_done()
