"""Upscope writes and explicit look-ups: call Upscope first, then store its answer.

Functions marked `@retryable` are idempotent at Upscope (stopping a visitor's
session, deleting a visitor, deleting every offline visitor: a repeat changes
nothing more), so a view may keep them for a background retry when Upscope is
down. A watch link is not: it starts a session and is short-lived, so a lost
answer is never replayed (a second session would start).

What Upscope does not confirm is never written as if it did:

- `stop_session`: Upscope answers `ok` whether or not anything was running
  (vendor-apis.md §3.9). Nothing is marked ended here; the session's end is
  stored when Upscope itself reports it (its session-end post to the receiver,
  the sessions pull, or `refresh_visitor`, which reads the visitor again).
- `delete_offline_visitors`: Upscope deletes in the background; the local rows
  of visitors stored as offline are marked removed (a later listing that still
  has one brings it back).

Errors are the vendorkit taxonomy; a 401 (one of Upscope's four credential
codes) also puts the account in "needs attention" with that code's message,
as a failed sync would.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cobrowse_portal.core.models import VendorAccount, VendorAgent
from cobrowse_portal.core.writes import retryable
from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.bulk import delete_remote, upsert
from cobrowse_portal.vendorkit.runs import RejectedKeyGuard

from . import sync
from .models import UpscopeAgent, UpscopeSession, UpscopeVisitor
from .schemas import OnPremiseToken, SessionStop, Visitor, WatchUrl
from .webhooks import WEBHOOK_MARK

log = logging.getLogger("cobrowse.vendors.upscope.services")

#: Upscope's own id of an agent the portal starts sessions for, when the person
#: has no Upscope directory entry with an external id (stable per user).
PORTAL_AGENT_ID = "portal-user-{pk}"


def client_for(account: VendorAccount):
    return account.client()


# A rejected key marks the account (vendorkit), around every call below.
_Guard = RejectedKeyGuard


def _not_found(exc: errors.NotFound, text: str) -> errors.NotFound:
    """Upscope's 404 envelope says only `visitor_not_found`: say what it means."""
    return errors.NotFound(
        exc.message, status=exc.status, vendor_code=exc.vendor_code, vendor_message=text
    )


# --- Upscope payloads as stored rows: the streams' own mappings (sync.py) --------
def store_visitors(account: VendorAccount, visitors: list[Visitor]) -> None:
    """Visitors and their embedded sessions (Upscope sends the last 50), in one
    transaction, through the streams' rows and merge rule: the sessions take the
    visitor's name and tags, their activities follow, and a session never moves
    back to ongoing."""
    with transaction.atomic():
        sync.store_visitors(account, visitors)
        sessions = [s for v in visitors for s in v.sessions if s.id]
        if sessions:
            sync.store_sessions(account, sessions)


# --- visitors -----------------------------------------------------------------------
def search_visitors(
    account: VendorAccount, search: str, *, max_results: int = 10
) -> list[UpscopeVisitor]:
    """GET list with Upscope's own search (`search` in its token syntax): the
    visitors found are stored and returned, best match first (at most 10)."""
    with _Guard(account):
        found = client_for(account).list_visitors(search, max_results=max_results)
    found = [v for v in found if v.short_id]
    store_visitors(account, found)
    rows = UpscopeVisitor.objects.filter(
        account=account, external_id__in=[v.short_id for v in found]
    ).defer(*UpscopeVisitor.LIST_DEFER)
    order = {v.short_id: i for i, v in enumerate(found)}
    return sorted(rows, key=lambda r: order[r.external_id])


def refresh_visitor(account: VendorAccount, visitor: UpscopeVisitor) -> UpscopeVisitor:
    """GET visitors/{short_id}: the visitor and its last 50 sessions stored (a
    session Upscope now reports ended is stored as ended: how a stop is
    confirmed). A 404 marks the local visitor removed."""
    try:
        with _Guard(account):
            fresh = client_for(account).get_visitor(visitor.external_id)
    except errors.NotFound as exc:
        delete_remote(visitor, lambda: None, gone="")
        raise _not_found(
            exc,
            f"Upscope has no visitor {visitor.external_id} any more (deleted at "
            "Upscope); the portal's copy is marked removed.",
        ) from exc
    store_visitors(account, [fresh])
    return UpscopeVisitor.objects.get(account=account, external_id=fresh.short_id)


def agent_for(account: VendorAccount, user) -> tuple[str, str]:
    """(agent id, agent name) a watch link names for `user`: their Upscope
    directory entry's external id and name when the directory has one (the
    person matched by e-mail), else a stable portal id and their own name."""
    name = (user.get_full_name() or user.get_username()).strip()
    email = (user.email or "").strip()
    if email:
        entry = (
            VendorAgent.objects.filter(
                Q(identity__email__iexact=email) | Q(email__iexact=email),
                account=account,
            )
            .values("external_id", "name")
            .first()
        )
        if entry:
            known = (
                UpscopeAgent.objects.filter(
                    account=account, external_id=entry["external_id"]
                )
                .exclude(agent_identifier="")
                .values_list("agent_identifier", flat=True)
                .first()
            )
            if known:
                return known, entry["name"] or name
            name = entry["name"] or name
    return PORTAL_AGENT_ID.format(pk=user.pk), name or f"Agent {user.pk}"


def start_watch(
    account: VendorAccount,
    visitor: UpscopeVisitor,
    *,
    agent_id: str,
    agent_name: str,
    webhook_url: str,
    naked: bool | str = False,
    permissions: dict[str, bool] | None = None,
    metadata: dict | None = None,
    on_end_url: str = "",
    initial_notes: str = "",
) -> WatchUrl:
    """POST visitors/{short_id}/watch_url: a secure link that starts
    co-browsing with the visitor; open it at once (it expires in minutes and
    is never stored). `webhook_url` is the account's receiver: Upscope posts
    the session there when it ends. 402 (over the plan) is QuotaExceeded, 404
    (no such visitor) NotFound with a sentence saying so."""
    try:
        with _Guard(account):
            return client_for(account).create_watch_url(
                visitor.external_id,
                agent_id=agent_id,
                agent_name=agent_name,
                naked=naked,
                permissions=permissions or None,
                # Marked: the session's end is posted to us, so the pull can
                # tell a lost post (`webhooks.expects_post`).
                metadata={**(metadata or {}), WEBHOOK_MARK: True}
                if webhook_url
                else metadata or None,
                on_end_url=on_end_url or None,
                initial_notes=initial_notes or None,
                webhook_url=webhook_url,
            )
    except errors.NotFound as exc:
        raise _not_found(
            exc,
            f"Upscope has no visitor {visitor.external_id} (deleted, or never "
            "seen by this account).",
        ) from exc


def _short_id(target: UpscopeVisitor | UpscopeSession) -> str:
    if isinstance(target, UpscopeSession):
        return target.visitor_short_id
    return target.external_id


@retryable
def stop_session(
    account: VendorAccount, target: UpscopeVisitor | UpscopeSession
) -> SessionStop:
    """DELETE visitors/{short_id}/session for a visitor (or a session's
    visitor). Upscope answers `ok` either way, so nothing is stored: the end
    is recorded when Upscope reports it."""
    short_id = _short_id(target)
    try:
        with _Guard(account):
            return client_for(account).stop_session(short_id)
    except errors.NotFound as exc:
        raise _not_found(
            exc, f"Upscope has no visitor {short_id}: nothing to stop."
        ) from exc


@retryable(removes=True)
def delete_visitor(account: VendorAccount, visitor: UpscopeVisitor) -> str:
    """DELETE visitors/{short_id}: the visitor's data at Upscope, entirely;
    the local row is marked removed (its sessions stay, with its name). 409
    (online) is refused in Upscope's words; 404 means already gone."""
    with _Guard(account):
        answer = delete_remote(
            visitor,
            lambda: client_for(account).delete_visitor(visitor.external_id),
            gone="Upscope no longer had this visitor.",
        )
    return answer or f"Visitor {visitor} deleted at Upscope."


@retryable
def delete_offline_visitors(account: VendorAccount) -> int:
    """DELETE visitors?all=true: Upscope deletes every offline visitor (in the
    background). Local rows stored as offline are marked removed; how many."""
    with _Guard(account):
        client_for(account).delete_offline_visitors()
    return UpscopeVisitor.objects.filter(
        account=account, is_online=False, removed_at__isnull=True
    ).update(removed_at=timezone.now())


# --- agents -------------------------------------------------------------------------
def lookup_agent(
    account: VendorAccount, *, email: str = "", external_id: str = ""
) -> UpscopeAgent:
    """GET agents/lookup by e-mail (an Upscope user) or external id (an agent
    of the Co-Browsing API); stored as an UpscopeAgent (a directory entry)."""
    email, external_id = email.strip(), external_id.strip()
    by = "email" if email else "external_id"
    try:
        with _Guard(account):
            agent = client_for(account).lookup_agent(
                email=email or None, external_id=external_id or None
            )
    except errors.NotFound as exc:
        what = f"e-mail {email}" if email else f"external id {external_id}"
        raise _not_found(exc, f"Upscope has no agent with {what}.") from exc
    if not agent.id:
        raise errors.MalformedResponse("Upscope answered an agent without an id")
    upsert(UpscopeAgent, account, [sync.agent_row(agent, by)])
    return UpscopeAgent.objects.get(account=account, external_id=agent.id)


# --- on-premise -----------------------------------------------------------------------
def authorize_onpremise(
    account: VendorAccount, visitor: UpscopeVisitor, *, agent_id: str, agent_name: str
) -> OnPremiseToken:
    """POST onpremise/token for a co-browse with `visitor` on an on-premise
    Upscope server: the token is shown once and never stored. 402 ("not
    authorized", over the plan) is QuotaExceeded."""
    with _Guard(account):
        return client_for(account).onpremise_token(
            visitor.external_id, agent_id=agent_id, agent_name=agent_name
        )
