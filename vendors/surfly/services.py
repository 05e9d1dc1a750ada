"""Surfly writes: push a change to Surfly first, then store Surfly's answer locally.

Functions marked `@retryable` are idempotent at Surfly (PUT, PATCH, DELETE, ending
a session), so a view may keep them for a background retry when Surfly is down.

Every function here makes the vendor call(s) and only touches the database once
Surfly has accepted the change, so a refused or failed write leaves local rows as
they were. Errors are the vendorkit taxonomy (`VendorError` and subclasses): views
show `user_message()` and `field_errors` for permanent ones and keep the user's
input for transient ones (`exc.transient`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cobrowse_portal.core.models import (
    VendorAccount,
    Workspace,
    create_client_workspace,
)
from cobrowse_portal.core.writes import intended, retryable
from cobrowse_portal.vendorkit.activity import update_rows
from cobrowse_portal.vendorkit.bulk import Counts, delete_remote, upsert
from cobrowse_portal.vendorkit.errors import NotFound, PermanentVendorError, VendorError
from cobrowse_portal.vendorkit.redaction import register_secret

from .client import SCREENSHOT_INTERVAL
from .models import (
    CobrowseSession,
    SurflyAgent,
    SurflyClient,
    SurflyCompanyOptions,
    SurflyWebhook,
)
from .schemas import WEBHOOK_CATEGORIES, Agent, Client, SessionInfo, Webhook
from .sync import client_row, session_row, webhook_row

log = logging.getLogger("cobrowse.vendors.surfly.services")

OPTIONS_ID = "company"


def client_for(account: VendorAccount):
    return account.client()


def _now() -> datetime:
    return timezone.now()


# --- agents -----------------------------------------------------------------------
def _agent_row(agent: Agent, existing: SurflyAgent | None = None, **fallback) -> dict:
    """Map Surfly's agent answer; fields it left out keep their previous value."""
    prev_free = existing.is_free if existing else False
    available = (
        agent.available
        if agent.available is not None
        else fallback.get("available", existing.available if existing else None)
    )
    row = {
        "external_id": agent.agent_id,
        "name": agent.name
        or fallback.get("name")
        or (existing.name if existing else ""),
        "email": agent.email
        or fallback.get("email")
        or (existing.email if existing else ""),
        "role": agent.raw.get("role")
        or agent.raw.get("agent_role")
        or fallback.get("role")
        or (existing.role if existing else "agent"),
        "available": available,
        # Surfly derives "free" from availability and presence; switching an
        # agent off makes it not free at once, switching on waits for the sync.
        "is_free": bool(prev_free and available),
        "last_login": agent.last_login or (existing.last_login if existing else None),
    }
    row["raw"] = {**agent.raw, "_free": row["is_free"]}
    return row


def create_agent(
    account: VendorAccount, *, username: str, agent_email: str, password: str, role: str
) -> SurflyAgent:
    """POST /agents/, then GET the new agent so the row holds Surfly's own view."""
    client = client_for(account)
    agent_id = client.create_agent(username, agent_email, password, role)
    try:
        agent = client.get_agent(agent_id)
    except VendorError:  # the agent exists at Surfly; store what we sent
        log.warning("created Surfly agent %s but could not read it back", agent_id)
        agent = Agent(
            agent_id=agent_id,
            raw={
                "agent_id": agent_id,
                "agent_name": username,
                "agent_email": agent_email,
                "role": role,
            },
        )
    if not agent.agent_id:
        agent.agent_id = agent_id
    row = _agent_row(agent, name=username, email=agent_email, role=role)
    upsert(SurflyAgent, account, [row])
    return SurflyAgent.objects.get(account=account, external_id=agent.agent_id)


# Kept updates of one agent merge (later kwargs win); `username` shows as its name.
@retryable(shows={"username": "name"})
def update_agent(
    account: VendorAccount,
    agent: SurflyAgent,
    *,
    username: str,
    available: bool,
    role: str | None = None,
) -> SurflyAgent:
    """PUT /agents/{id}/ (Surfly requires `username` and `available`)."""
    answer = client_for(account).update_agent(
        agent.external_id, username, available, role or None
    )
    if not answer.agent_id:
        answer.agent_id = agent.external_id
    row = _agent_row(answer, agent, name=username, available=available, role=role)
    upsert(SurflyAgent, account, [row])
    agent.refresh_from_db()
    return agent


def availability_change(agent: SurflyAgent) -> dict[str, Any]:
    """`update_agent` kwargs that flip `agent`'s availability: absolute values (a
    replay must not flip it back), from the agent as the user means it to be —
    pass an `intended()` agent, so a pending rename is not undone."""
    return {"username": agent.name or agent.email, "available": not agent.available}


def toggle_availability(account: VendorAccount, agent: SurflyAgent) -> SurflyAgent:
    agent = intended(account, agent)
    return update_agent(account, agent, **availability_change(agent))


@retryable(removes=True)
def delete_agent(account: VendorAccount, agent: SurflyAgent) -> str:
    """DELETE /agents/{id}/; the local row is marked removed once Surfly confirms."""
    answer = delete_remote(
        agent,
        lambda: client_for(account).delete_agent(agent.external_id),
        gone="Surfly no longer had this agent.",
    )
    return answer or "Agent deleted."


@dataclass
class IssuedToken:
    """An Embed API token: shown once, never stored."""

    token: str
    expires_at: datetime
    expires_in: int
    agent_id: str | None

    @property
    def hours(self) -> int:
        return round(self.expires_in / 3600)


def generate_access_token(
    account: VendorAccount, agent: SurflyAgent, *, force_new: bool = False
) -> IssuedToken:
    """POST /agents/access-token/ — a 24 h token (one active per agent)."""
    answer = client_for(account).agent_access_token(
        agent.external_id, force_new=force_new
    )
    register_secret(answer.token)
    now = _now()
    # Surfly counts token generation as a login.
    update_rows(SurflyAgent.objects.filter(pk=agent.pk), account, last_login=now)
    return IssuedToken(
        token=answer.token,
        expires_at=now + timedelta(seconds=answer.expires_in),
        expires_in=answer.expires_in,
        agent_id=answer.agent_id,
    )


# --- sessions ---------------------------------------------------------------------
def _store_session(
    account: VendorAccount, info: SessionInfo, **extra
) -> CobrowseSession:
    row = {**session_row(info), **extra}
    upsert(CobrowseSession, account, [row])
    return CobrowseSession.objects.get(account=account, external_id=row["external_id"])


def start_session(
    account: VendorAccount,
    *,
    url: str,
    tags: list[str] | None = None,
    agent_id: str | None = None,
    skip_queue: bool | None = None,
    options: dict[str, Any] | None = None,
) -> CobrowseSession:
    """POST /sessions/; the row keeps `leader_link` (valid 2 minutes) for display."""
    info = client_for(account).create_session(
        url,
        tags=tags or None,
        agent_id=agent_id or None,
        skip_queue=skip_queue,
        **(options or {}),
    )
    if not (info.session_id or info.id):
        raise PermanentVendorError("Surfly started a session but sent no session id")
    return _store_session(account, info, leader_link=info.leader_link[:500])


@retryable
def end_session(account: VendorAccount, session: CobrowseSession) -> CobrowseSession:
    """POST /sessions/{id}/end/; Surfly answers the session with end time filled."""
    client = client_for(account)
    try:
        info = client.end_session(session.api_id or session.external_id)
    except NotFound:
        # Already gone at Surfly (ended and purged): the session is not live.
        update_rows(
            CobrowseSession.objects.filter(pk=session.pk),
            account,
            is_active=False,
            end_time=session.end_time or _now(),
        )
        session.refresh_from_db()
        return session
    row = session_row(info)
    row["external_id"] = session.external_id  # keep the row the user acted on
    row["is_active"] = False  # Surfly confirmed the end, even if end_time is absent
    row["end_time"] = row["end_time"] or _now()
    if not row["api_id"]:
        row["api_id"] = session.api_id
    upsert(CobrowseSession, account, [row])
    session.refresh_from_db()
    return session


def check_sessions(
    account: VendorAccount, *, how: str = "history", filters: dict | None = None
) -> Counts:
    """Store what Surfly has and the portal does not (or has differently).

    The manager's "check against Surfly" on the history page, for when the
    scheduled syncs cannot be waited for. `how`: "history" pages through
    /history/ (with `filters`, only the matching records; safe on any size),
    "list" takes GET /sessions/, every session in one unpaged answer (the
    fullest records, e.g. waiting time; heavy on a busy account)."""
    client = client_for(account)
    if how == "list":
        sessions = client.list_sessions()
    elif filters:
        sessions = client.filter_history(**filters)
    else:
        sessions = client.list_history()
    counts = Counts()
    batch: list[dict] = []
    for info in sessions:
        batch.append(session_row(info))
        if len(batch) >= 500:
            counts += upsert(CobrowseSession, account, batch)
            batch = []
    if batch:
        counts += upsert(CobrowseSession, account, batch)
    return counts


@dataclass
class Screenshot:
    state: str
    url: str | None
    taken_at: datetime | None = None  # when the portal fetched it
    interval: int = SCREENSHOT_INTERVAL


def take_screenshot(
    account: VendorAccount,
    session: CobrowseSession,
    *,
    size: int | None = None,
    interval: int | None = None,
) -> Screenshot:
    """POST …/screenshots/create/ then GET …/screenshots/latest/ for the image URL.

    Surfly keeps producing screenshots only while "latest" is polled, so one
    action asks for one image; nothing is stored. Blank `size`/`interval` get
    the client's defaults (both are required by Surfly).
    """
    client = client_for(account)
    key = session.api_id or session.external_id
    state = client.create_screenshot(key, size=size, interval=interval)
    if state == "FAILED-INTERNALLY":
        raise PermanentVendorError(
            "Surfly could not take a screenshot (FAILED-INTERNALLY)",
            vendor_message="Surfly could not take a screenshot of this session.",
        )
    try:
        url = client.latest_screenshot(key)
    except NotFound:
        url = None  # generation started; the first image is not ready yet
    return Screenshot(
        state=state,
        url=url,
        taken_at=_now(),
        interval=max(5, interval or SCREENSHOT_INTERVAL),  # Surfly's minimum
    )


# --- company options --------------------------------------------------------------
def _store_options(account: VendorAccount, options: dict) -> SurflyCompanyOptions:
    upsert(
        SurflyCompanyOptions,
        account,
        [{"external_id": OPTIONS_ID, "options": options, "raw": options}],
    )
    return SurflyCompanyOptions.objects.get(account=account, external_id=OPTIONS_ID)


def _merge_option_changes(earlier: dict, later: dict) -> dict:
    """Kept option changes merge key by key (the later value of a key wins)."""
    return {"changes": {**earlier.get("changes", {}), **later.get("changes", {})}}


@retryable(merge=_merge_option_changes)
def update_options(
    account: VendorAccount, changes: dict[str, Any]
) -> SurflyCompanyOptions:
    """PATCH /company/options/ with the changed keys only (POST would reset the
    rest to defaults)."""
    current = SurflyCompanyOptions.objects.filter(
        account=account, external_id=OPTIONS_ID
    ).first()
    if not changes and current:
        return current
    answer = client_for(account).update_options(changes)
    # Surfly answers the whole object; merge anyway so a partial answer loses nothing.
    merged = {**(current.options if current else {}), **answer}
    return _store_options(account, merged)


# The whole set is replaced: earlier kept option changes are moot.
@retryable(removes=True)
def replace_options(
    account: VendorAccount, options: dict[str, Any]
) -> SurflyCompanyOptions:
    """POST /company/options/: `options` become the whole set; every option not
    in it goes back to Surfly's default. Stores Surfly's answer as it is."""
    return _store_options(account, client_for(account).replace_options(options))


@retryable(removes=True)  # back to defaults: earlier kept changes are moot
def reset_options(account: VendorAccount) -> SurflyCompanyOptions:
    """DELETE /company/options/ (back to defaults), then GET to store the result."""
    client = client_for(account)
    client.reset_options()
    return _store_options(account, client.get_options())


# --- webhooks ---------------------------------------------------------------------
def _webhook_row(hook: Webhook, disabled_by_portal: bool) -> dict:
    return {
        **webhook_row(hook),
        "disabled_by_portal": disabled_by_portal and not hook.enabled,
    }


def create_webhook(
    account: VendorAccount,
    *,
    url: str,
    category: str,
    enabled: bool = True,
    ssl_verification: bool = True,
) -> SurflyWebhook:
    hook = client_for(account).create_webhook(url, category, enabled, ssl_verification)
    if not hook.id:
        raise PermanentVendorError("Surfly created the webhook but sent no id")
    upsert(SurflyWebhook, account, [_webhook_row(hook, disabled_by_portal=not enabled)])
    return SurflyWebhook.objects.get(account=account, external_id=hook.id)


@retryable
def update_webhook(
    account: VendorAccount,
    webhook: SurflyWebhook,
    *,
    url: str,
    category: str,
    enabled: bool,
    ssl_verification: bool,
) -> SurflyWebhook:
    """PUT /webhooks/{id}/. A webhook the user switches off is marked as switched
    off by the portal, so it is not reported as switched off by Surfly."""
    hook = client_for(account).update_webhook(
        webhook.external_id, url, category, enabled, ssl_verification
    )
    if not hook.id:
        hook.id = webhook.external_id
    if enabled:
        by_portal = False
    elif webhook.enabled:
        by_portal = True  # the user is switching it off now
    else:
        by_portal = webhook.disabled_by_portal  # already off: keep who did it
    upsert(SurflyWebhook, account, [_webhook_row(hook, by_portal)])
    # upsert skips unchanged payloads; the portal-only flag may still have moved.
    SurflyWebhook.objects.filter(account=account, external_id=hook.id).update(
        disabled_by_portal=by_portal and not hook.enabled
    )
    webhook.refresh_from_db()
    return webhook


def refresh_webhook(account: VendorAccount, webhook: SurflyWebhook) -> SurflyWebhook:
    """GET /webhooks/{id}/: Surfly's current view of one webhook, stored (e.g. to
    see at once whether Surfly switched it off, without the hourly sync)."""
    hook = client_for(account).get_webhook(webhook.external_id)
    hook.id = webhook.external_id  # the row acted on
    upsert(SurflyWebhook, account, [_webhook_row(hook, webhook.disabled_by_portal)])
    webhook.refresh_from_db()
    return webhook


@retryable(removes=True)
def delete_webhook(account: VendorAccount, webhook: SurflyWebhook) -> None:
    """DELETE /webhooks/{id}/ (204), then mark the row removed."""
    delete_remote(
        webhook,
        lambda: client_for(account).delete_webhook(webhook.external_id),
        gone="",
    )


@dataclass
class ReceiverRegistration:
    """What `register_receiver` did, by event category."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    #: The category whose creation failed after others were created, and why.
    failed: str = ""
    error: VendorError | None = None


def register_receiver(account: VendorAccount, url: str) -> ReceiverRegistration:
    """One webhook per documented category pointing at `url` (this portal's
    receiver), skipping the categories Surfly already sends there.

    GET /webhooks/ first: Surfly's list is the truth (the local one may be an hour
    old) and the ones found are stored; then POST /webhooks/ per missing category.
    A failure before anything was created raises; after that the result names
    the category that failed, so the caller can report what was done.
    """
    there = [h for h in client_for(account).list_webhooks() if h.url == url and h.id]
    by_portal = dict(
        SurflyWebhook.objects.filter(
            account=account, external_id__in=[h.id for h in there]
        ).values_list("external_id", "disabled_by_portal")
    )
    upsert(
        SurflyWebhook,
        account,
        [_webhook_row(h, by_portal.get(h.id, False)) for h in there],
    )
    registered = {h.category for h in there}
    result = ReceiverRegistration(
        existing=[c for c in WEBHOOK_CATEGORIES if c in registered]
    )
    for category in WEBHOOK_CATEGORIES:
        if category in registered:
            continue
        try:
            create_webhook(account, url=url, category=category)
        except VendorError as exc:
            if not result.created:
                raise
            result.failed, result.error = category, exc
            break
        result.created.append(category)
    return result


# --- reseller clients -------------------------------------------------------------
def client_row_of(client: Client, existing: SurflyClient | None = None) -> dict:
    """The synced mapping; what a partial answer left out keeps its stored value."""
    row = client_row(client)
    if existing is not None:
        for name in ("company_name", "plan", "widget_key"):
            row[name] = row[name] or getattr(existing, name)
        if client.agent_count is None:
            row["agent_count"] = existing.agent_count
        if "domains" not in client.raw:
            row["domains"] = existing.domains
        row["raw"] = {**existing.raw, **row["raw"]}
    return row


@dataclass
class CreatedClient:
    client: SurflyClient
    workspace: Workspace | None = None
    workspace_account: VendorAccount | None = None


def create_client(
    account: VendorAccount,
    *,
    company_name: str,
    domains: list[str],
    agent_email: str,
    agent_name: str,
    company_plan_name: str = "",
    agent_password: str = "",
    create_workspace: bool = False,
    parent: Workspace | None = None,
) -> CreatedClient:
    """POST /clients/all/. With `create_workspace`, a client workspace owned by
    `parent` gets a Surfly account whose credentials are the returned REST key,
    stored encrypted; the key is never kept anywhere else. The first agent's
    password is passed through to Surfly and not kept."""
    if agent_password:
        register_secret(agent_password)
    answer = client_for(account).create_client(
        company_name,
        domains,
        agent_email,
        agent_name,
        company_plan_name=company_plan_name or None,
        agent_password=agent_password or None,
    )
    register_secret(answer.rest_key)
    if not answer.client_key:
        raise PermanentVendorError("Surfly created the client but sent no client key")
    row = client_row_of(answer)
    if "domains" not in answer.raw:
        # The create answer carries no domains; Surfly accepted the ones we sent
        # (none sent: Surfly's default, any domain).
        sent = list(domains) or ["*"]
        row["domains"] = sent
        row["raw"] = {**row["raw"], "domains": ", ".join(sent)}
    if not row["plan"] and company_plan_name:
        row["plan"] = company_plan_name  # nor the plan: the one we asked for
    with transaction.atomic():
        upsert(SurflyClient, account, [row])
        result = CreatedClient(
            SurflyClient.objects.get(account=account, external_id=answer.client_key)
        )
        if create_workspace and parent is not None and answer.rest_key:
            name = (answer.company_name or company_name)[:120]
            workspace, sub = create_client_workspace(
                parent,
                name,
                vendor=account.vendor,
                base_url=account.base_url,
                credentials={"api_key": answer.rest_key},
                account_name=f"Surfly · {name}",
            )
            SurflyClient.objects.filter(pk=result.client.pk).update(
                client_workspace=workspace
            )
            result.client.client_workspace = workspace
            result.workspace, result.workspace_account = workspace, sub
    return result


@retryable
def rename_client(
    account: VendorAccount, client: SurflyClient, company_name: str
) -> SurflyClient:
    """PUT /clients/all/{key}/"""
    answer = client_for(account).update_client(client.external_id, company_name)
    if not answer.company_name:
        answer.company_name = company_name
    row = client_row_of(answer, client)
    row["external_id"] = (
        client.external_id
    )  # the client acted on, whatever the answer says
    upsert(SurflyClient, account, [row])
    client.refresh_from_db()
    return client


def refresh_client(account: VendorAccount, client: SurflyClient) -> SurflyClient:
    """GET /clients/all/{key}/: Surfly's current view of one client, stored."""
    answer = client_for(account).get_client(client.external_id)
    row = client_row_of(answer, client)
    row["external_id"] = client.external_id  # the client acted on
    upsert(SurflyClient, account, [row])
    client.refresh_from_db()
    return client


@retryable
def set_client_domains(
    account: VendorAccount, client: SurflyClient, domains: list[str]
) -> SurflyClient:
    """POST /clients/all/{key}/ with the comma-separated domain list."""
    stored = client_for(account).set_client_domains(client.external_id, domains)
    answer = Client(
        client_key=client.external_id,
        domains=stored,
        raw={"client_key": client.external_id, "domains": ",".join(stored)},
    )
    upsert(SurflyClient, account, [client_row_of(answer, client)])
    client.refresh_from_db()
    return client


@retryable(removes=True)
def delete_client(account: VendorAccount, client: SurflyClient) -> str:
    """DELETE /clients/all/{key}/, then mark the row removed."""
    answer = delete_remote(
        client,
        lambda: client_for(account).delete_client(client.external_id),
        gone="Surfly no longer had this client.",
    )
    return answer or "Client deleted."


def client_sessions(
    account: VendorAccount, client: SurflyClient, *, active_only: bool = True
) -> list[SessionInfo]:
    """GET /sessions/?clientkey=…[&active_session=true] — shown, not stored (they
    belong to the client's own account). `active_only=False`: every session."""
    return client_for(account).client_sessions(
        client.external_id, active_session=True if active_only else None
    )
