"""Webhook-versus-poll reconciliation against the real Upscope sandbox over
HTTP: watch links made by the portal (`services.start_watch`, which marks the
session) carry the account's receiver; the sandbox posts each session when it
ends, and its fault profile drops every Nth post (`webhook_drop_every`). The
next `sessions` pull reports the dropped ones as missed by webhook and the
others matched; a session that no watch link of ours started is never
expected to be posted, so it is not missed."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.core.models import WebhookEvent
from cobrowse_portal.vendorkit.runs import execute_stream
from cobrowse_portal.vendorkit.sandbox.faults import set_faults
from cobrowse_portal.vendorkit.webhooks import receiver_url
from tests.conftest import sandbox_account
from vendors.upscope import services
from vendors.upscope.models import UpscopeVisitor
from vendors.upscope.sandbox.models import CobrowsingSession
from vendors.upscope.sandbox.seed import MAIN_KEY

from .conftest import SANDBOX

pytestmark = SANDBOX

VISITORS = ("v0001", "v0002", "v0003", "v0004")


@pytest.fixture
def account(reseller, sandbox, live_server):
    return sandbox_account(reseller, live_server.url, vendor="upscope")


@pytest.fixture
def drains(monkeypatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", queued.append)
    return queued


def pull(account):
    run = execute_stream(account.pk, "sessions")
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def watched_session(account, live_server, short_id: str) -> str:
    """A watch link made as the portal makes it, then the session stopped (the
    sandbox posts it, unless dropped); the session's public id."""
    host = live_server.url.split("://", 1)[1]
    request = RequestFactory().get("/", HTTP_HOST=host)
    services.start_watch(
        account,
        UpscopeVisitor(account=account, external_id=short_id),
        agent_id="agent-7",
        agent_name="Pat Agent",
        webhook_url=receiver_url(account, request),
    )
    s = CobrowsingSession.objects.filter(
        account__api_key=MAIN_KEY, visitor_short_id=short_id, ended_at__isnull=True
    ).latest("pk")
    account.client().stop_session(short_id)
    return s.public_id


def test_dropped_session_end_posts_are_missed(account, live_server, drains):
    backfill = pull(account)
    assert backfill.created > 0
    assert (backfill.webhook_missed, backfill.webhook_matched) == (0, 0)
    set_faults("upscope", MAIN_KEY, webhook_drop_every=2)  # posts 2 and 4 lost
    ids = [watched_session(account, live_server, v) for v in VISITORS]
    posted = set(
        WebhookEvent.objects.filter(account=account).values_list(
            "record_key", flat=True
        )
    )
    assert posted == {ids[0], ids[2]}
    # A session started elsewhere (no webhook_url): never posted, never missed.
    account.client().create_watch_url("v0001", agent_id="a-1", agent_name="Other")
    account.client().stop_session("v0001")
    tasks.process_webhook_events(account.pk)

    run = pull(account)
    assert run.created >= 3  # the two lost posts' sessions and the other one
    assert (run.webhook_missed, run.webhook_matched) == (2, 2)
    assert run.webhook_unmatched == 0
    assert not WebhookEvent.objects.filter(
        account=account, matched_at__isnull=True
    ).exists()
