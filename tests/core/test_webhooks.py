"""The inbound webhook endpoint /hooks/<account id>/<token>/ (Surfly session events)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from cobrowse_portal import celery_app
from cobrowse_portal.core.choices import EventStatus
from cobrowse_portal.core.models import WebhookEvent
from cobrowse_portal.core.tasks import process_webhook_events
from vendors.surfly.models import CobrowseSession

from .conftest import make_account


@pytest.fixture
def account(reseller):
    return make_account(reseller, "Hooked desk")


@pytest.fixture
def hook_client():
    return Client(enforce_csrf_checks=True)  # vendors send no CSRF token


def hook_url(account, token=None) -> str:
    return reverse("webhook_receive", args=[account.pk, token or account.webhook_token])


def event(seq, kind="session.started", session="s-1", **data) -> dict:
    return {"sequence_id": seq, "type": kind, "data": {"session_id": session, **data}}


def post(client, url, payload, **kw):
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    return client.post(url, body, content_type="application/json", **kw)


def test_wrong_token_is_404_and_stores_nothing(account, hook_client, other_workspace):
    assert post(hook_client, hook_url(account, "x" * 43), event(1)).status_code == 404
    assert post(hook_client, hook_url(account, "short"), event(1)).status_code == 404
    other = make_account(other_workspace, "Other")
    # Another account's valid token does not open this account.
    url = reverse("webhook_receive", args=[account.pk, other.webhook_token])
    assert post(hook_client, url, event(1)).status_code == 404
    for missing_id in (987654, 10**22):
        missing = reverse("webhook_receive", args=[missing_id, account.webhook_token])
        assert post(hook_client, missing, event(1)).status_code == 404
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(account, hook_client):
    assert hook_client.get(hook_url(account)).status_code == 405


def test_malformed_json_is_400_and_recorded(account, hook_client):
    response = post(hook_client, hook_url(account), b"{not json")
    assert response.status_code == 400
    stored = WebhookEvent.objects.get(account=account)
    assert stored.status == EventStatus.INVALID
    assert stored.body_excerpt == "{not json" and "malformed" in stored.error


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "session.started"},  # no sequence_id
        {"sequence_id": 1},  # no type
        {"sequence_id": 1, "type": "session.started", "data": {}},  # no session_id
        [1, 2, 3],
        b"[" * 50_000 + b"]" * 50_000,  # nested too deep for the JSON parser
        event(10**30),  # beyond any integer column
        {
            "sequence_id": "1e999",
            "type": "session.started",
            "data": {"session_id": "s"},
        },
        event(1, session="nul\u0000byte"),
        b"\xff\xfe garbage bytes",
    ],
    ids=[
        "no-seq",
        "no-type",
        "no-session",
        "list",
        "deep",
        "huge-seq",
        "inf-seq",
        "nul",
        "bytes",
    ],
)
def test_unreadable_events_are_400_and_recorded(account, hook_client, payload):
    response = post(hook_client, hook_url(account), payload)
    assert response.status_code == 400
    assert WebhookEvent.objects.get(account=account).status == EventStatus.INVALID


def test_oversized_body_is_400_and_recorded(account, hook_client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 200
    response = post(hook_client, hook_url(account), event(1, meta="x" * 500))
    assert response.status_code == 400
    stored = WebhookEvent.objects.get(account=account)
    assert stored.status == EventStatus.INVALID and stored.error == "body too large"
    assert len(stored.body_excerpt) <= 500


def test_unknown_type_is_200_and_recorded_as_ignored(account, hook_client):
    response = post(
        hook_client,
        hook_url(account),
        {"sequence_id": 5, "type": "agent.teleported", "data": {}},
    )
    assert response.status_code == 200
    stored = WebhookEvent.objects.get(account=account)
    assert (
        stored.status == EventStatus.IGNORED and stored.event_type == "agent.teleported"
    )


def test_duplicate_sequence_id_is_stored_once(
    account, hook_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        first = post(hook_client, hook_url(account), event(7))
        again = post(hook_client, hook_url(account), event(7))
    assert first.status_code == 202
    assert again.status_code == 200 and "duplicate" in again.json()["status"]
    assert WebhookEvent.objects.filter(account=account).count() == 1


def test_events_are_applied_in_sequence_order(
    account, hook_client, django_capture_on_commit_callbacks
):
    """Delivered out of order (ended first), applied by sequence_id."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for payload in (
            event(3, "session.ended", end_time="2026-01-01T10:30:00Z", duration=1800),
            event(1, "session.queued", start_time="2026-01-01T10:00:00Z", pin="1234"),
            event(2, "session.started", tags=["vip"]),
        ):
            assert post(hook_client, hook_url(account), payload).status_code == 202
    assert len(callbacks) == 3  # each delivery queues the processing task
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"received"}

    assert process_webhook_events(account.pk) == "3 events applied"
    session = CobrowseSession.objects.get(account=account, external_id="s-1")
    assert not session.is_active  # "ended" was applied last
    assert (
        session.duration == 1800 and session.tags == ["vip"] and session.pin == "1234"
    )
    assert session.last_event_sequence == 3
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}

    # A stale event arriving late does not reopen the session.
    with django_capture_on_commit_callbacks(execute=False):
        post(
            hook_client,
            hook_url(account),
            event(2, "session.started", session="s-1") | {"sequence_id": 0},
        )
    process_webhook_events(account.pk)
    assert not CobrowseSession.objects.get(pk=session.pk).is_active


def test_one_bad_event_does_not_block_the_rest(account, monkeypatch):
    from vendors.surfly.webhooks import SurflyWebhookHandler

    WebhookEvent.objects.create(
        account=account,
        external_id="1",
        sequence=1,
        event_type="session.started",
        payload=event(1),
    )
    WebhookEvent.objects.create(
        account=account,
        external_id="2",
        sequence=2,
        event_type="session.started",
        payload=event(2, session="s-2"),
    )
    real = SurflyWebhookHandler.merge  # one event's part of the batch's apply

    def merge(self, current, ev):
        if ev.sequence == 1:
            raise ValueError("cannot apply")
        return real(self, current, ev)

    monkeypatch.setattr(SurflyWebhookHandler, "merge", merge)
    process_webhook_events(account.pk)
    statuses = dict(WebhookEvent.objects.values_list("sequence", "status"))
    assert statuses == {1: EventStatus.FAILED, 2: EventStatus.PROCESSED}
    assert CobrowseSession.objects.filter(external_id="s-2").exists()


def test_delivery_is_processed_through_celery(
    account, hook_client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(hook_client, hook_url(account), event(1, session="eager"))
    assert response.status_code == 202
    assert WebhookEvent.objects.get(account=account).status == EventStatus.PROCESSED
    assert CobrowseSession.objects.get(external_id="eager").is_active


# --- text PostgreSQL cannot store, and values too long for their columns ----------
@pytest.mark.parametrize(
    ("body", "session_id"),
    [
        (
            b'{"sequence_id": 1, "type": "session.started", '
            b'"data": {"session_id": "s\\ud800", "tags": ["t\\udfff"]}}',
            "s\ufffd",
        ),
        # A valid pair is one character, kept as it is.
        (
            b'{"sequence_id": 1, "type": "session.started", '
            b'"data": {"session_id": "s\\ud83d\\ude00"}}',
            "s\U0001f600",
        ),
        # Encoded as bytes (CESU-8) rather than escaped.
        (
            b'{"sequence_id": 1, "type": "session.started", '
            b'"data": {"session_id": "s\xed\xa0\x80", "meta": {"k\\udc00": 1}}}',
            "s\ufffd",
        ),
    ],
    ids=["escaped", "valid-pair", "raw-bytes"],
)
def test_lone_surrogates_are_replaced_and_the_event_applies(
    account, hook_client, django_capture_on_commit_callbacks, body, session_id
):
    with django_capture_on_commit_callbacks(execute=False):
        response = post(hook_client, hook_url(account), body)
    assert response.status_code == 202
    stored = WebhookEvent.objects.get(account=account)
    assert stored.payload["data"]["session_id"] == session_id
    assert process_webhook_events(account.pk) == "1 events applied"
    stored.refresh_from_db()
    assert stored.status == EventStatus.PROCESSED, stored.error
    session = CobrowseSession.objects.get(account=account)
    assert session.external_id == session_id
    assert "\ud800" not in json.dumps(session.tags, ensure_ascii=False)


def test_unknown_type_with_a_lone_surrogate_is_stored(account, hook_client):
    body = b'{"sequence_id": 9, "type": "agent.\\ud800", "data": {"x\\ud800": "y"}}'
    response = post(hook_client, hook_url(account), body)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get(account=account)
    assert stored.status == EventStatus.IGNORED
    assert stored.event_type == "agent.\ufffd" and stored.payload["data"] == {
        "x\ufffd": "y"
    }


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"session_id": "s" * 5000}, "data.session_id longer than 128"),
        ({"session_id": "s-1", "pin": "1" * 30}, "data.pin longer than 16"),
        ({"session_id": "s-1", "pin": {"a": 1}}, "data.pin must be text"),
        (
            {"session_id": "s-1", "leader_link": "https://x.test/" + "a" * 600},
            "data.leader_link longer than 500",
        ),
    ],
    ids=["session-id", "pin", "pin-object", "leader-link"],
)
def test_values_too_long_for_their_columns_are_400_and_recorded(
    account, hook_client, data, where
):
    payload = {"sequence_id": 1, "type": "session.queued", "data": data}
    response = post(hook_client, hook_url(account), payload)
    assert response.status_code == 400
    stored = WebhookEvent.objects.get(account=account)
    assert stored.status == EventStatus.INVALID
    assert where in stored.error and stored.error.startswith("malformed event")
    assert not CobrowseSession.objects.exists()


def test_column_limits_come_from_the_model_fields():
    from cobrowse_portal.vendorkit.webhooks import column_limits
    from vendors.surfly.webhooks import SurflyWebhookHandler

    limits = column_limits(SurflyWebhookHandler)
    assert (
        limits["data.session_id"]
        == CobrowseSession._meta.get_field("external_id").max_length
    )
    assert limits["data.pin"] == CobrowseSession._meta.get_field("pin").max_length
