"""The Upscope REST v1.3 operations, as strict as Upscope.

Choices where the docs are silent (README "Upscope"): `list` orders online
visitors first, then the newest; free-text words must all occur (case-blind)
in the visitor's name, e-mail, ids, URL, city or browser; `max_results` outside
1..10 is refused (400). `cobrowsing_sessions/list` answers 100 sessions a page,
oldest first; `before_id` alone answers the 100 just before it (still oldest
first); ids are "s_<n>". A watch URL's session runs for the account's
`session_seconds`, then ends by itself; 402 once the account's running
sessions reach its `session_limit`. `DELETE visitors?all=true` deletes at once
(Upscope does it in the background).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from datetime import UTC, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from vendors.upscope.schemas import NAKED, PERMISSIONS

from . import lifecycle, records
from .api import Refusal, error, ok, read_body, respond
from .models import Account, Agent, CobrowsingSession, Visitor

MAX_RESULTS = 10
SESSIONS_PAGE = 100
#: A watch link is valid this long (the docs: "doesn't last long").
LINK_LIFETIME = timedelta(minutes=2)
WATCH_BASE = "https://cobrowsingapi.com/session/"
EMAIL = re.compile(r"^[^@\s:#]+@[^@\s]+\.[^@\s]+$")
URL = re.compile(r"^https?://[^\s/]+\S*$")
SESSION_ID = re.compile(r"^s_(\d{1,18})$")


# --- usage ----------------------------------------------------------------------
def usage(request, account: Account):
    now = timezone.now()
    sessions = CobrowsingSession.objects.filter(account=account)
    month = sessions.filter(started_at__gte=records.window(now, 30))
    day = sessions.filter(started_at__gte=records.window(now, 1))

    def seconds(qs) -> int:
        ended = qs.filter(ended_at__isnull=False).values_list("started_at", "ended_at")
        running = qs.filter(ended_at__isnull=True).values_list("started_at", flat=True)
        total = sum(int((e - s).total_seconds()) for s, e in ended.iterator())
        return total + sum(int((now - s).total_seconds()) for s in running)

    def agents(qs) -> int:
        ids = set()
        for text in qs.values_list("agent_ids", flat=True).iterator():
            ids.update(text.split())
        return len(ids)

    visitors = records.with_presence(
        Visitor.objects.filter(account=account), account, now
    )
    return ok(
        usage={
            "agents": {"last_30_days": agents(month), "today": agents(day)},
            "session_counts": {
                "last_30_days": month.count(),
                "now": sessions.filter(ended_at__isnull=True).count(),
                "today": day.count(),
            },
            "session_seconds": {"last_30_days": seconds(month), "today": seconds(day)},
            "visitors": {
                # Every cycle is at most a day long, so a visitor who comes
                # online at all was seen in the last 24 hours.
                "last_24_hrs": visitors.filter(online_minutes__gt=0).count()
                + visitors.filter(
                    online_minutes=0, added_at__gte=records.window(now, 1)
                ).count(),
                "online_now": visitors.filter(online=True).count(),
            },
        }
    )


# --- visitors -------------------------------------------------------------------
def _search(qs, text: str):
    """Every token narrows the result (vendor-apis.md §3.6)."""
    for token in text.split():
        low = token.lower()
        if low == "online":
            qs = qs.filter(online=True)
        elif low == "-online":
            qs = qs.filter(online=False)
        elif low.startswith("ip:") and len(token) > 3:
            qs = qs.filter(ip_address=token[3:])
        elif low.startswith("integration_id:") and token.count(":") >= 2:
            qs = qs.filter(tokens_text__contains=f" {low[len('integration_id:') :]} ")
        elif low.startswith("id:") and len(token) > 3:
            qs = qs.filter(unique_id=token[3:])
        elif re.fullmatch(r"\d{4}", token):
            qs = qs.filter(lookup_code=token)
        elif token.startswith("#") and len(token) > 1:
            qs = qs.filter(tokens_text__contains=f" {low} ")
        elif EMAIL.match(token):
            qs = qs.filter(email__iexact=token) | qs.filter(
                tokens_text__contains=f" {low} "
            )
        else:
            qs = qs.filter(search_text__contains=low)
    return qs


def list_visitors(request, account: Account):
    raw = request.GET.get("max_results", "")
    if raw == "":
        limit = MAX_RESULTS
    elif raw.isdigit() and 1 <= int(raw) <= MAX_RESULTS:
        limit = int(raw)
    else:
        raise Refusal(400, "invalid_max_results")
    now = timezone.now()
    qs = records.with_presence(Visitor.objects.filter(account=account), account, now)
    qs = _search(qs, request.GET.get("search", ""))
    found = list(qs.order_by("-online", "-added_at", "-pk")[:limit])
    return ok(
        visitors=[
            records.visitor(
                v, account, now, records.visitor_sessions(account, v.short_id)
            )
            for v in found
        ]
    )


def _visitor(account: Account, short_id: str) -> Visitor:
    qs = records.with_presence(
        Visitor.objects.filter(account=account, short_id=short_id),
        account,
        timezone.now(),
    )
    v = qs.first()
    if v is None:
        raise Refusal(404, "visitor_not_found")
    return v


def get_visitor(request, account: Account, short_id: str):
    v = _visitor(account, short_id)
    sessions = records.visitor_sessions(account, short_id)
    return ok(visitor=records.visitor(v, account, timezone.now(), sessions))


def delete_visitor(request, account: Account, short_id: str):
    v = _visitor(account, short_id)
    if v.online:
        raise Refusal(409, "visitor_online")
    Visitor.objects.filter(pk=v.pk).delete()
    return ok()


def delete_all(request, account: Account):
    if request.GET.get("all", "").lower() not in ("true", "1"):
        raise Refusal(400, "all_required")
    qs = records.with_presence(
        Visitor.objects.filter(account=account), account, timezone.now()
    )
    offline = list(qs.filter(online=False).values_list("pk", flat=True))
    for start in range(0, len(offline), 500):
        Visitor.objects.filter(pk__in=offline[start : start + 500]).delete()
    return ok()


def stop_session(request, account: Account, short_id: str):
    _visitor(account, short_id)
    lifecycle.stop_visitor_sessions(account, short_id)
    return ok()  # the same answer whether or not a session was running


# --- watch URL ------------------------------------------------------------------
def _text(d: dict, name: str, code: str, *, required: bool = False) -> str:
    value = d.get(name)
    if value is None:
        if required:
            raise Refusal(400, code)
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Refusal(400, code)
    return value


def _object(body: dict, name: str) -> dict:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refusal(400, f"invalid_{name}")
    return value


def _url(d: dict, name: str, code: str) -> str:
    value = _text(d, name, code)
    if value and not URL.match(value):
        raise Refusal(400, code)
    return value


def _agent(body: dict) -> tuple[str, str]:
    """`agent.id` and `agent.name`, both required non-empty strings."""
    agent = body.get("agent")
    if not isinstance(agent, dict):
        raise Refusal(400, "agent_required")
    return (
        _text(agent, "id", "agent_id_required", required=True).strip(),
        _text(agent, "name", "agent_name_required", required=True).strip(),
    )


def watch_url(request, account: Account, short_id: str):
    v = _visitor(account, short_id)
    body = read_body(request)
    agent_id, agent_name = _agent(body)
    branding = _object(body, "branding")
    if "naked" in branding and not any(
        branding["naked"] is n or branding["naked"] == n and isinstance(n, str)
        for n in NAKED
    ):
        raise Refusal(400, "invalid_branding")
    _url(branding, "on_end_url", "invalid_branding")
    _url(branding, "retry_url", "invalid_branding")
    permissions = _object(body, "permissions")
    for key, value in permissions.items():
        if key not in PERMISSIONS or not isinstance(value, bool):
            raise Refusal(400, "invalid_permissions")
    metadata = _object(body, "metadata")
    for value in metadata.values():
        if value is None or not isinstance(value, str | int | float | bool):
            raise Refusal(400, "metadata_not_flat")
    webhook = _url(body, "webhook_url", "invalid_webhook_url")
    for name in ("initial_notes", "language"):
        _text(body, name, f"invalid_{name}")
    viewer = _object(body, "viewer")
    _text(viewer, "id", "invalid_viewer")
    _text(viewer, "name", "invalid_viewer")
    running = CobrowsingSession.objects.filter(account=account, ended_at__isnull=True)
    if running.count() >= account.session_limit:
        raise Refusal(402, "subscription_limit")
    s = lifecycle.start(
        account,
        v,
        agent_id=agent_id,
        agent_name=agent_name,
        metadata=metadata,
        webhook_url=webhook,
        options={
            k: body[k]
            for k in ("branding", "permissions", "initial_notes", "language", "viewer")
            if k in body
        },
    )
    return ok(
        watch_url=WATCH_BASE + str(uuid.UUID(s.watch_token)),
        expiration=records.iso(timezone.now() + LINK_LIFETIME),
    )


# --- agents ---------------------------------------------------------------------
def lookup_agent(request, account: Account):
    params = request.GET
    if set(params) - {"email", "external_id"} or not params:
        raise Refusal(404, "agent_not_found")  # the docs: any other parameter
    if "email" in params and "external_id" in params:
        raise Refusal(400, "email_or_external_id")
    qs = Agent.objects.filter(account=account)
    if "email" in params:
        agent = qs.filter(email__iexact=params["email"], email__gt="").first()
    else:
        agent = qs.filter(external_id=params["external_id"], external_id__gt="").first()
    if agent is None:
        raise Refusal(404, "agent_not_found")
    now = timezone.now()
    sessions = CobrowsingSession.objects.filter(
        account=account, agent_ids__contains=f" {agent.agent_id} "
    ).order_by("-number")[: records.AGENT_SESSIONS]
    return ok(
        agent={
            "id": agent.agent_id,
            "_type": "external_agent" if agent.external_id else "user",
            "name": agent.name,
            "email": agent.email or None,
            "agent_identifier": agent.external_id or None,
            "sessions": [records.session(s, account, now) for s in sessions],
        }
    )


# --- sessions -------------------------------------------------------------------
def _session_number(value: str, code: str) -> int:
    match = SESSION_ID.match(value)
    if not match:
        raise Refusal(400, code)
    return int(match.group(1))


def list_sessions(request, account: Account):
    params = request.GET
    qs = CobrowsingSession.objects.filter(account=account)
    after = before = None
    if params.get("after_id"):
        after = _session_number(params["after_id"], "invalid_after_id")
        qs = qs.filter(number__gt=after)
    if params.get("before_id"):
        before = _session_number(params["before_id"], "invalid_before_id")
        qs = qs.filter(number__lt=before)
    ongoing = params.get("ongoing_only", "false").lower()
    if ongoing not in ("true", "false", "1", "0"):
        raise Refusal(400, "invalid_ongoing_only")
    if ongoing in ("true", "1"):
        qs = qs.filter(ended_at__isnull=True)
    if params.get("updated_after"):
        text = params["updated_after"].strip().replace(" ", "+")
        try:
            since = parse_datetime(text.replace("Z", "+00:00"))
        except ValueError:
            since = None
        if since is None:
            raise Refusal(400, "invalid_updated_after")
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # lenient: no zone is UTC
        qs = qs.filter(updated_at__gt=since)
    qs = qs.values_list(*records.listed_columns())  # no instances, JSON as text
    if before is not None and after is None:
        found = list(qs.order_by("-number")[: SESSIONS_PAGE + 1])
        more = len(found) > SESSIONS_PAGE
        found = found[:SESSIONS_PAGE][::-1]
    else:
        found = list(qs.order_by("number")[: SESSIONS_PAGE + 1])
        more = len(found) > SESSIONS_PAGE
        found = found[:SESSIONS_PAGE]
    now = timezone.now()
    sessions = [records.session_from(s, account, now, json_text=True) for s in found]
    return ok(
        cobrowsing_sessions=sessions,
        has_more=more,
        last_id=sessions[-1]["id"] if sessions else None,
    )


# --- on-premise -----------------------------------------------------------------
def onpremise_token(request, account: Account):
    body = read_body(request)
    _text(body, "visitor_id", "visitor_id_required", required=True)
    agent_id, agent_name = _agent(body)
    running = CobrowsingSession.objects.filter(account=account, ended_at__isnull=True)
    if running.count() >= account.session_limit:
        raise Refusal(402, "not_authorized")
    # The docs' answer carries no `status`: `authorized` and `token` only.
    claims = {"sub": agent_id, "name": agent_name, "visitor": body["visitor_id"]}
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    head = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    return respond(
        {"authorized": True, "token": f"{head}.{part}.{secrets.token_urlsafe(32)}"}
    )


def unknown(request, account: Account, rest: str = ""):
    return error(404, "not_found")
