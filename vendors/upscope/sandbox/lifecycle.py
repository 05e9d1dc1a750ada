"""Sessions start (watch URL), run, and end: by themselves at `ends_at`, or when
stopped. Ending is claimed with one conditional UPDATE, so however many
processes sweep at once, a session ends once and its `webhook_url` gets one
POST of the session JSON (after the commit, off the request thread, through
vendorkit's sandbox `emit`, as the Surfly sandbox sends its webhooks).

There is no worker: the due sessions of an account are ended at the start of
each request with that account's key (api.route), so what a client sees is the
same as if Upscope had ended them on time (`ended_at` is `ends_at`, not the
time of the sweep).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.emit import emit
from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from . import records
from .models import VENDOR, Account, Agent, CobrowsingSession, Visitor


def finish_due(account: Account, now: datetime | None = None) -> int:
    """End the account's sessions whose time is up; how many ended."""
    now = now or timezone.now()
    due = list(
        CobrowsingSession.objects.filter(
            account=account, ended_at__isnull=True, ends_at__lte=now
        ).values_list("pk", "ends_at")
    )
    return sum(end(account, pk, at, now) for pk, at in due)


def end(account: Account, pk: int, at: datetime, now: datetime | None = None) -> bool:
    """End session `pk` at `at` unless it already ended; post its webhook."""
    now = now or timezone.now()
    with transaction.atomic(using=ALIAS):
        claimed = CobrowsingSession.objects.filter(pk=pk, ended_at__isnull=True).update(
            ended_at=at, updated_at=now
        )
        if not claimed:
            return False
        s = CobrowsingSession.objects.get(pk=pk)
        if s.webhook_url:
            payload = records.session(s, account, now)
            send = partial(
                emit, s.webhook_url, payload, vendor=VENDOR, account_key=account.api_key
            )
            transaction.on_commit(send, using=ALIAS)
    return True


def stop_visitor_sessions(account: Account, short_id: str) -> int:
    now = timezone.now()
    running = CobrowsingSession.objects.filter(
        account=account, visitor_short_id=short_id, ended_at__isnull=True
    ).values_list("pk", flat=True)
    return sum(end(account, pk, now, now) for pk in list(running))


def _agent(account: Account, external_id: str, name: str) -> dict:
    """The external agent of `external_id` (made on first use, renamed on use)."""
    agent, made = Agent.objects.get_or_create(
        account=account,
        external_id=external_id,
        defaults={"agent_id": f"ea_{secrets.token_hex(6)}", "name": name},
    )
    if not made and agent.name != name:
        agent.name = name
        agent.save(update_fields=["name"])
    return {
        "id": agent.agent_id,
        "name": agent.name,
        "agent_identifier": external_id,
        "_type": "external_agent",
    }


def start(
    account: Account,
    v: Visitor,
    *,
    agent_id: str,
    agent_name: str,
    metadata: dict,
    webhook_url: str,
    options: dict,
) -> CobrowsingSession:
    """A session with `v`, running from now for the account's `session_seconds`."""
    now = timezone.now()
    permissions = options.get("permissions") or {}
    features = [
        f for f in ("scroll", "click", "draw") if permissions.get(f"allow_{f}", True)
    ]
    with transaction.atomic(using=ALIAS):
        agent = _agent(account, agent_id, agent_name)
        Account.objects.filter(pk=account.pk).update(next_session=F("next_session") + 1)
        number = (
            Account.objects.values_list("next_session", flat=True).get(pk=account.pk)
            - 1
        )
        return CobrowsingSession.objects.create(
            account=account,
            number=number,
            visitor_short_id=v.short_id,
            started_at=now,
            ends_at=now + timedelta(seconds=account.session_seconds),
            updated_at=now,
            went_live=True,
            features_used=features,
            agents=[agent],
            agent_ids=f" {agent['id']} ",
            metadata=metadata,
            webhook_url=webhook_url,
            options=options,
            watch_token=secrets.token_hex(16),
        )
