"""Upscope's session-end intake: the watch link's `webhook_url` is the account's
receiver; the sandbox POSTs the session JSON there when it ends; the shared
receiver stores it once and the drain applies it by the sessions stream's merge
rule. A post and the next `updated_after` pull of the same session apply it
once, in either order; a repeated post is stored once; a late post never undoes
a newer pulled state."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import (
    ActivityStatus,
    EventStatus,
    RunStatus,
)
from cobrowse_portal.core.models import Activity, WebhookEvent
from cobrowse_portal.vendorkit.runs import execute_stream
from cobrowse_portal.vendorkit.webhooks import receiver_url
from tests.conftest import sandbox_account
from vendors.upscope.models import UpscopeSession
from vendors.upscope.sandbox.models import CobrowsingSession
from vendors.upscope.webhooks import UpscopeWebhookHandler

from .conftest import SANDBOX

pytestmark = SANDBOX


@pytest.fixture
def account(reseller, sandbox, live_server):
    return sandbox_account(reseller, live_server.url, vendor="upscope")


@pytest.fixture
def drains(monkeypatch) -> list[int]:
    """Drains the intake queued (run by hand with `tasks.process_webhook_events`)."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_events, "delay", queued.append)
    return queued


def pull(account):
    run = execute_stream(account.pk, "sessions")
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def watch(account, live_server, short_id="v0003"):
    """A watch link with the account's receiver, as the portal makes it; the
    sandbox session it started."""
    client = account.client()
    client.create_watch_url(
        short_id,
        agent_id="agent-7",
        agent_name="Pat Agent",
        metadata={"ticket": "T-9"},
        webhook_url=receiver_url(account, _request(live_server)),
    )
    return CobrowsingSession.objects.get(
        visitor_short_id=short_id, ended_at__isnull=True, account__name__contains="Acme"
    )


def _request(live_server):
    host = live_server.url.split("://", 1)[1]
    return RequestFactory().get("/", HTTP_HOST=host)


def stored(account, s) -> UpscopeSession:
    return UpscopeSession.objects.get(account=account, external_id=s.public_id)


def test_receiver_url_is_the_accounts_hook(account, settings):
    settings.SITE_URL = "https://portal.example.com/"
    assert receiver_url(account) == (
        f"https://portal.example.com/hooks/{account.pk}/{account.webhook_token}/"
    )
    settings.ALLOWED_HOSTS = ["desk.example.org"]
    request = RequestFactory().get("/", HTTP_HOST="desk.example.org")
    assert receiver_url(account, request) == (
        f"http://desk.example.org/hooks/{account.pk}/{account.webhook_token}/"
    )


def test_post_then_pull_applies_the_end_once(account, live_server, drains):
    pull(account)
    s = watch(account, live_server)
    pull(account)
    assert stored(account, s).is_ongoing
    account.client().stop_session("v0003")  # the sandbox posts the session
    event = WebhookEvent.objects.get(account=account)
    assert event.event_type == "session.ended" and event.status == EventStatus.RECEIVED
    assert drains == [account.pk]
    tasks.process_webhook_events(account.pk)
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED, event.error
    row = stored(account, s)
    assert not row.is_ongoing and row.ended_at is not None
    assert row.metadata == {"ticket": "T-9"} and row.agent_name == "Pat Agent"
    act = Activity.objects.get(account=account, external_id=s.public_id)
    assert act.status == ActivityStatus.ENDED and act.duration is not None
    written = row.synced_at

    again = pull(account)  # the same session, in the updated_after window
    assert (again.created, again.updated) == (0, 0)
    assert stored(account, s).synced_at == written


def test_pull_then_post_applies_the_end_once(account, live_server, drains):
    pull(account)
    s = watch(account, live_server)
    account.client().stop_session("v0003")
    ended = pull(account)
    assert ended.created == 1
    row = stored(account, s)
    assert not row.is_ongoing
    written = row.synced_at
    tasks.process_webhook_events(account.pk)
    assert WebhookEvent.objects.get(account=account).status == EventStatus.PROCESSED
    assert stored(account, s).synced_at == written  # nothing left to apply


def test_a_repeated_post_is_stored_once(account, live_server, drains):
    s = watch(account, live_server)
    account.client().stop_session("v0003")
    event = WebhookEvent.objects.get(account=account)
    body = json.dumps(event.payload).encode()
    hook = Client()
    path = account.webhook_path
    for _ in range(2):  # Upscope (or a proxy) delivers it again
        response = hook.post(path, body, content_type="application/json")
        assert response.status_code == 200, response.content
    assert WebhookEvent.objects.filter(account=account).count() == 1
    tasks.process_webhook_events(account.pk)
    row = stored(account, s)
    assert not row.is_ongoing
    assert (
        Activity.objects.filter(account=account, external_id=s.public_id).count() == 1
    )


def test_a_late_post_never_undoes_a_newer_pull(account, live_server, drains):
    s = watch(account, live_server)
    account.client().stop_session("v0003")
    # Upscope changes the ended session again (later `updated_at`) and the pull
    # sees that before the post of the end is applied.
    later = timezone.now() + timedelta(seconds=5)
    CobrowsingSession.objects.filter(pk=s.pk).update(
        updated_at=later, metadata={"ticket": "T-10"}
    )
    pull(account)
    row = stored(account, s)
    assert row.metadata == {"ticket": "T-10"}
    tasks.process_webhook_events(account.pk)
    after = stored(account, s)
    assert after.metadata == {"ticket": "T-10"} and after.updated_at == row.updated_at
    assert after.synced_at == row.synced_at


def test_an_ongoing_copy_never_reopens_an_ended_session(account, live_server, drains):
    """A page fetched while the session ran, stored after the end was applied."""
    from vendors.upscope.schemas import Session
    from vendors.upscope.sync import store_sessions

    s = watch(account, live_server)
    running = next(
        x
        for page in account.client().cobrowsing_sessions(after_id=f"s_{s.number - 1}")
        for x in page.items
        if x.id == s.public_id
    )
    assert running.ongoing
    account.client().stop_session("v0003")
    tasks.process_webhook_events(account.pk)
    store_sessions(account, [Session.parse(running.raw)])
    row = stored(account, s)
    assert not row.is_ongoing and row.ended_at is not None
    act = Activity.objects.get(account=account, external_id=s.public_id)
    assert act.status == ActivityStatus.ENDED


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'{"visitor_id": "v1"}',
        b'{"id": ""}',
        b'{"id": "' + b"x" * 200 + b'"}',
    ],
)
def test_unreadable_posts_are_refused_and_recorded(account, body):
    response = Client().post(
        account.webhook_path, body, content_type="application/json"
    )
    assert response.status_code == 400
    assert WebhookEvent.objects.get(account=account).status == EventStatus.INVALID


def test_the_event_id_is_the_session_and_its_last_change():
    handler = UpscopeWebhookHandler()
    one = handler.identify({"id": "s_5", "updated_at": "2026-12-01T10:00:00.123Z"})
    same = handler.identify({"id": "s_5", "updated_at": "2026-12-01T10:00:00.123Z"})
    later = handler.identify({"id": "s_5", "updated_at": "2026-12-01T10:05:00Z"})
    assert one == same and one[0] != later[0] and later[1] > one[1]
    assert one[2] == "session.ended"
    assert handler.identify({"id": 7})[0] == "7"  # v1.1's numeric ids
