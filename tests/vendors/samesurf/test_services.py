"""SameSurf writes against the sandbox over HTTP: the vendor first, then the
local rows and the control room's index in one go; secrets only encrypted."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import requests
from django.apps import apps
from django.utils import timezone

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus, RunStatus
from cobrowse_portal.core.models import Activity, VendorAccount, Workspace
from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.runs import execute_stream
from tests.conftest import sandbox_account
from vendors.samesurf import services
from vendors.samesurf.client import SameSurfClient
from vendors.samesurf.models import (
    SameSurfApiKey,
    SameSurfRecording,
    SameSurfRoom,
    SameSurfSubscription,
    SameSurfToken,
)
from vendors.samesurf.sandbox.models import ApiKey, LimitedUseToken, Room, Subscription

from .conftest import SANDBOX

pytestmark = SANDBOX


@pytest.fixture
def account(reseller, sandbox, live_server):
    return sandbox_account(reseller, live_server.url, vendor="samesurf")


def run(account, stream):
    result = execute_stream(account.pk, stream)
    assert result.status == RunStatus.SUCCEEDED, result.error
    return result


def activity_of(account, room):
    return Activity.objects.get(
        account=account, kind=ActivityKind.ROOM, external_id=room.external_id
    )


def test_start_room_with_every_option_is_live_and_stays_one_room(account):
    room = services.start_room(
        account,
        starturl="https://shop.example.com/cart",
        title="Checkout help",
        bookmarks=[{"name": "Docs", "link": "https://docs.example.com"}],
        cookies=[
            {"domain": "shop.example.com", "name": "sid", "value": "cookie-value-x1"}
        ],
        storage=[{"domain": "shop.example.com", "name": "cart", "value": "store-v1"}],
        disabled_features=["TOOLS_VIDEO_CHAT", "MODE_LOGOUT"],
    )
    vendor = Room.objects.get(number=room.number)
    assert vendor.options["disabledfeatures"] == ["TOOLS_VIDEO_CHAT", "MODE_LOGOUT"]
    assert vendor.options["session"]["cookies"][0]["value"] == "cookie-value-x1"
    assert room.is_running and room.title == "Checkout help"
    assert room.leader_link.endswith("/" + vendor.leader_token)
    assert room.invitee_link.endswith("/" + vendor.token)
    # Session data values are passed to SameSurf, never kept.
    kept = str(room.options) + str(room.raw)
    assert "cookie-value-x1" not in kept and "store-v1" not in kept
    assert room.options["cookies"] == [{"domain": "shop.example.com", "name": "sid"}]
    act = activity_of(account, room)
    assert (
        act.status == ActivityStatus.LIVE and act.url == "https://shop.example.com/cart"
    )

    # The running listing and later analytics fill in the same row.
    run(account, "running")
    rows = SameSurfRoom.objects.filter(account=account, number=room.number)
    assert rows.count() == 1 and rows.get().leader_link == room.leader_link
    vendor.ended_at = vendor.started_at + timedelta(minutes=3)
    vendor.duration = 180
    vendor.save()
    run(account, "running")
    run(account, "analytics")
    assert rows.count() == 1
    row = rows.get()
    assert (row.version, row.duration, row.start_url) == (
        0,
        180,
        "https://shop.example.com/cart",
    )
    acts = Activity.objects.filter(account=account, kind=ActivityKind.ROOM)
    assert acts.filter(external_id=row.external_id).count() == 1
    assert activity_of(account, row).status == ActivityStatus.ENDED
    assert acts.count() == SameSurfRoom.objects.filter(account=account).count()


def test_schedule_room_and_its_refusals(account):
    when = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    room = services.schedule_room(
        account,
        event_time=when,
        timezone_name="Europe/London",
        length_minutes=45,
        invitees=["ana@example.net", "bo@example.org"],
        invite_message="See you",
        starturl="https://www.example.com",
        title="Quarterly review",
    )
    vendor = Room.objects.get(number=room.external_id)
    assert vendor.event_at == when and vendor.length_minutes == 45
    assert vendor.invitees == "ana@example.net,bo@example.org"
    assert room.event_at == when and room.leader_link and room.invitee_link
    with pytest.raises(errors.PermanentVendorError) as info:
        services.schedule_room(
            account,
            event_time=timezone.now() - timedelta(hours=1),
            starturl="https://www.example.com",
        )
    assert info.value.vendor_code == 122 and info.value.field_errors


def test_limited_use_token_create_and_revoke(account):
    room = services.start_room(account, starturl="https://www.example.com")
    token = services.create_token(
        account, room, usage_limit=2, is_leader=True, users_name="Pat"
    )
    vendor = LimitedUseToken.objects.get(token=token.external_id)
    assert (vendor.usage_limit, vendor.is_leader, vendor.users_name) == (2, True, "Pat")
    assert token.room == room and token.link.endswith(token.external_id)
    assert services.revoke_token(account, token) == "Token revoked."
    assert not LimitedUseToken.objects.filter(token=token.external_id).exists()
    token.refresh_from_db()
    assert token.removed_at is not None
    # A replay (kept write) after the answer was lost: already gone, still done.
    again = services.revoke_token(account, token)
    assert again == "SameSurf no longer had this token."
    with pytest.raises(errors.PermanentVendorError) as info:
        services.create_token(account, room, usage_limit=0, is_leader=False)
    assert info.value.vendor_code == 125
    assert SameSurfToken.objects.count() == 1


def test_recording_links_are_short_lived(account):
    run(account, "analytics")
    rec = SameSurfRecording.objects.filter(account=account).select_related("room")[0]
    thumb = services.recording_link(account, rec, "thumbnail", valid_for=5)
    image = services.recording_link(account, rec, "image", width=320)
    video = services.recording_link(account, rec, "public_link")
    got = requests.get(thumb, timeout=10)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/png"
    assert requests.get(image, timeout=10).status_code == 200
    assert requests.get(video, timeout=10).status_code == 200
    rec.refresh_from_db()
    assert rec.link("thumbnail") == thumb and rec.link("public_link") == video
    left = rec.thumbnail_expires_at - timezone.now()
    assert timedelta(minutes=4) < left <= timedelta(minutes=5)
    # Past expiry a link is not shown, and the hourly overview forgets it.
    SameSurfRecording.objects.filter(pk=rec.pk).update(
        thumbnail_expires_at=timezone.now() - timedelta(seconds=1)
    )
    rec.refresh_from_db()
    assert rec.link("thumbnail") == ""
    run(account, "overview")
    rec.refresh_from_db()
    assert (rec.thumbnail_link, rec.thumbnail_expires_at) == ("", None)
    assert rec.link("public_link") == video  # still valid, kept
    with pytest.raises(ValueError):
        services.recording_link(account, rec, "download")


def test_room_analytics_fetch_is_stored_and_names_the_host(account):
    run(account, "analytics")
    room = SameSurfRoom.objects.filter(account=account, version=1).first()
    stored = services.fetch_room_analytics(account, room)
    assert stored.room == room and stored.events and stored.users
    assert any(u["host"] for u in stored.users)
    assert "ipaddress" not in str(stored.raw) and "ipaddress" not in str(stored.users)
    room.refresh_from_db()
    assert room.host_name == "Host"
    assert activity_of(account, room).agent_name == "Host"
    again = services.fetch_room_analytics(account, room)
    assert again.pk == stored.pk


def test_create_subscription_with_client_workspace_keeps_secrets_encrypted(
    account, reseller, caplog
):
    caplog.set_level(logging.DEBUG)
    result = services.create_subscription(
        account,
        name="Hooli (test)",
        license_count=4,
        overrides={"welcome_active": "false"},
        bookmarks=[{"name": "Home", "link": "https://hooli.example.com"}],
        disabled_features=["MODE_SCREEN_SHARE"],
        create_workspace=True,
        parent=reseller,
    )
    vendor_sub = Subscription.objects.get(name="Hooli (test)")
    assert vendor_sub.license_count == 4 and vendor_sub.reseller.is_reseller
    assert vendor_sub.disabled_features == ["MODE_SCREEN_SHARE"]
    assert vendor_sub.overrides == [{"key": "welcome_active", "value": "false"}]
    vendor_key = ApiKey.objects.get(subscription=vendor_sub)
    secret, key = vendor_key.secret, vendor_key.key

    ws = result.workspace
    assert ws.parent == reseller and ws.kind == "client"
    client_account = result.workspace_account
    assert client_account.vendor == "samesurf" and client_account.workspace == ws
    assert client_account.credentials == {"api_key": key, "api_secret": secret}
    # The client workspace's account works with its own key.
    assert client_account.client().check_connection().startswith("API key and")
    sub = result.subscription
    sub.refresh_from_db()
    assert (sub.client_workspace, sub.client_account) == (ws, client_account)
    assert result.api_key.credentials() == {"api_key": key, "api_secret": secret}

    # Neither key nor secret is in any portal table in the clear, nor in the logs.
    for model in [*apps.get_app_config("samesurf").get_models()] + [
        VendorAccount,
        Workspace,
        apps.get_model("core", "SyncRun"),
        apps.get_model("core", "PendingWrite"),
    ]:
        dump = str(list(model.objects.values()))
        assert secret not in dump and key not in dump, model
    assert secret not in caplog.text and key not in caplog.text

    # The subscriptions stream checks it with that key.
    run(account, "subscriptions")
    sub.refresh_from_db()
    assert sub.check_status == "ok"

    # Another key: kept encrypted too.
    extra = services.add_api_key(account, sub)
    assert ApiKey.objects.filter(subscription=vendor_sub).count() == 2
    assert extra.credentials()["api_key"] != key
    assert SameSurfApiKey.objects.filter(subscription=sub).count() == 2

    # Refusals are the vendor's, next to the field.
    with pytest.raises(errors.PermanentVendorError) as info:
        services.create_subscription(account, name="Hooli (test)", license_count=1)
    assert info.value.vendor_code == 114
    with pytest.raises(errors.PermanentVendorError) as info:
        services.create_subscription(account, name="Zero (test)", license_count=0)
    assert info.value.vendor_code == 124 and info.value.field_errors


def test_delete_subscription_archives_or_keeps_its_workspace(account, reseller):
    kept = services.create_subscription(
        account,
        name="Keep (test)",
        license_count=1,
        create_workspace=True,
        parent=reseller,
    )
    gone = services.create_subscription(
        account,
        name="Gone (test)",
        license_count=1,
        create_workspace=True,
        parent=reseller,
    )
    assert services.delete_subscription(account, kept.subscription) == (
        "Subscription deleted."
    )
    services.delete_subscription(account, gone.subscription, archive=True)
    assert not Subscription.objects.filter(name__in=["Keep (test)", "Gone (test)"])
    kept.workspace.refresh_from_db()
    gone.workspace.refresh_from_db()
    assert kept.workspace.archived_at is None
    assert gone.workspace.archived_at is not None
    assert not VendorAccount.objects.get(pk=gone.workspace_account.pk).enabled
    for result in (kept, gone):
        result.subscription.refresh_from_db()
        assert result.subscription.removed_at is not None
        assert not SameSurfApiKey.objects.filter(
            subscription=result.subscription, removed_at__isnull=True
        ).exists()
    # Replayed: already gone at SameSurf (118), still done.
    again = services.delete_subscription(account, kept.subscription)
    assert again == "SameSurf no longer had this subscription."


def test_a_subscription_without_a_key_says_why(account, reseller, monkeypatch):
    def refuse(self, subscription):
        raise errors.TransientVendorError("down", vendor_message="SameSurf is down.")

    monkeypatch.setattr(SameSurfClient, "create_api_key", refuse)
    result = services.create_subscription(
        account,
        name="Later (test)",
        license_count=2,
        create_workspace=True,
        parent=reseller,
    )
    assert result.workspace is None and result.key_error
    assert SameSurfSubscription.objects.filter(name="Later (test)").exists()
