"""SameSurf pages with data: roles, workspace scoping, htmx fragments, and every
write from the UI against the sandbox over HTTP (start and schedule a room,
tokens, recordings, a room's analytics, subscriptions), with SameSurf's field
errors next to the right field and nothing typed lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core.models import Activity, VendorAccount, Workspace
from tests.conftest import sandbox_account
from vendors.samesurf.models import (
    SameSurfApiKey,
    SameSurfRecording,
    SameSurfRoom,
    SameSurfScheduledRoom,
    SameSurfSubscription,
    SameSurfToken,
    SameSurfUsage,
)
from vendors.samesurf.sandbox.models import LimitedUseToken, Room, Subscription

from .conftest import SANDBOX

HX = {"HTTP_HX_REQUEST": "true"}


def url(name, account, *args, query=""):
    return reverse(f"samesurf:{name}", args=[account.pk, *args]) + query


def offline_account(workspace, name="SameSurf desk") -> VendorAccount:
    account = VendorAccount(
        workspace=workspace,
        vendor="samesurf",
        name=name,
        base_url="https://samesurf.test/api/v3",
    )
    account.set_credentials({"api_key": "k-offline", "api_secret": "s-offline"})
    account.save()
    return account


def make_room(account, n, **kw) -> SameSurfRoom:
    started = timezone.now() - timedelta(hours=n)
    fields = {
        "external_id": f"{1000 + n}:0",
        "number": str(1000 + n),
        "version": 0,
        "title": f"Room title {n}",
        "started_at": started,
        "duration": 125 * 60,
        "recordings": 0,
        "synced_at": timezone.now(),
    }
    fields.update(kw)
    return SameSurfRoom.objects.create(account=account, **fields)


# --- pages with data, roles, scoping (no vendor call) -------------------------
@pytest.fixture
def desk(reseller):
    return offline_account(reseller)


def test_running_rooms_page_and_its_polling_fragment(desk, login, personas):
    make_room(
        desk,
        1,
        is_running=True,
        title="Live demo room",
        leader_link="https://realtime.samesurf.com/1001/LEAD",
        invitee_link="https://realtime.samesurf.com/1001/INV",
    )
    make_room(desk, 2, title="Finished room")
    c = login(personas["agent"])
    page = c.get(url("running", desk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Live demo room" in html and "Finished room" not in html
    assert 'hx-trigger="every 5s"' in html
    assert "https://realtime.samesurf.com/1001/INV" in html
    fragment = c.get(url("running", desk), **HX).content.decode()
    assert "Live demo room" in fragment and "<html" not in fragment


def test_running_rooms_are_keyset_paged(desk, login, personas):
    for n in range(55):
        make_room(desk, n, is_running=True, title=f"Busy {n:02d}")
    c = login(personas["agent"])
    first = c.get(url("running", desk)).content.decode()
    assert "Busy 00" in first and "Busy 54" not in first
    nxt = first.split('class="pager"')[1].split('href="')[1].split('"')[0]
    second = c.get(url("running", desk) + nxt.replace("&amp;", "&")).content.decode()
    assert "Busy 54" in second and "Busy 00" not in second


def test_history_lists_rooms_with_durations_written_like_a_person(
    desk, login, personas
):
    make_room(desk, 1, title="Product walk-through", recordings=2)
    make_room(desk, 2, title="No recording room")
    c = login(personas["manager"])
    html = c.get(url("history", desk)).content.decode()
    assert "Product walk-through" in html
    assert "2 h 5 min" in html
    only = c.get(url("history", desk, query="?with_recordings=on"), **HX)
    text = only.content.decode()
    assert "Product walk-through" in text and "No recording room" not in text
    assert "<html" not in text
    assert login(personas["agent"]).get(url("history", desk)).status_code == 403


def test_room_detail_shows_recordings_thumbnails_and_stored_analytics(
    desk, login, personas
):
    room = make_room(desk, 1, recordings=2)
    SameSurfRecording.sync_for(desk, {room.external_id: 2})
    rec = SameSurfRecording.objects.get(room=room, index=0)
    rec.thumbnail_link = "https://cdn.samesurf.test/thumb0.png"
    rec.thumbnail_expires_at = timezone.now() + timedelta(minutes=30)
    rec.save()
    c = login(personas["manager"])
    html = c.get(url("room_detail", desk, room.pk)).content.decode()
    assert 'src="https://cdn.samesurf.test/thumb0.png"' in html
    assert html.count("Open recording") == 2
    assert "Fetch analytics" in html
    # An expired thumbnail link is never shown.
    rec.thumbnail_expires_at = timezone.now() - timedelta(seconds=1)
    rec.save()
    assert "thumb0.png" not in c.get(url("room_detail", desk, room.pk)).content.decode()


def test_analytics_overview_shows_the_latest_snapshot(desk, login, personas):
    now = timezone.now()
    common = {"account": desk, "synced_at": now}
    SameSurfUsage.objects.create(
        external_id="old", taken_at=now - timedelta(hours=2), rooms_today=1, **common
    )
    SameSurfUsage.objects.create(
        external_id="new",
        taken_at=now,
        rooms_today=20,
        rooms_this_week=43,
        rooms_this_month=102,
        rooms_total=131,
        average_minutes_today=28,
        average_minutes_all_time=34,
        url_latest="https://www.google.com/",
        url_most_popular="google.com",
        **common,
    )
    html = login(personas["manager"]).get(url("analytics", desk)).content.decode()
    for figure in ("20", "43", "102", "131", "28 min", "34 min", "google.com"):
        assert figure in html
    # No rooms today: the average is unknown, not "0 s".
    SameSurfUsage.objects.filter(external_id="new").update(
        rooms_today=0, average_minutes_today=0
    )
    html = login(personas["manager"]).get(url("analytics", desk)).content.decode()
    assert "0 s" not in html


def test_pages_are_scoped_to_the_workspace(desk, other_workspace, login, personas):
    theirs = offline_account(other_workspace, "Initech SameSurf")
    room = make_room(theirs, 1, is_running=True, title="Initech secret room")
    c = login(personas["admin"])
    assert c.get(url("running", theirs)).status_code == 404
    assert c.get(url("room_detail", desk, room.pk)).status_code == 404
    assert "Initech secret room" not in c.get(url("running", desk)).content.decode()


def test_subscriptions_only_for_reseller_workspaces(
    desk, client_workspace, login, personas, reseller
):
    SameSurfSubscription.objects.create(
        account=desk, external_id="Globex", name="Globex", license_count=4
    )
    html = login(personas["manager"]).get(url("subscriptions", desk)).content.decode()
    assert "Globex" in html
    reseller.kind = "client"
    reseller.save()
    assert login(personas["manager"]).get(url("subscriptions", desk)).status_code == 404


def test_nav_lists_the_samesurf_pages_by_role(desk, login, personas):
    agent = login(personas["agent"]).get(url("running", desk)).content.decode()
    assert url("scheduled", desk) in agent and url("history", desk) not in agent
    manager = login(personas["manager"]).get(url("running", desk)).content.decode()
    assert url("history", desk) in manager and url("subscriptions", desk) in manager


# --- writes against the sandbox over HTTP -------------------------------------
@pytest.fixture
def live_desk(reseller, sandbox, live_server):
    return sandbox_account(reseller, live_server.url, vendor="samesurf")


@SANDBOX
def test_start_a_room_with_every_option_shows_both_links(live_desk, login, personas):
    c = login(personas["agent"])
    response = c.post(
        url("room_start", live_desk),
        {
            "start_url": "https://www.example.com/",
            "title": "Portal demo",
            "bookmark_0_name": "Docs",
            "bookmark_0_link": "https://docs.example.com/",
            "cookie_0_domain": "example.com",
            "cookie_0_name": "sid",
            "cookie_0_value": "abc",
            "cookie_0_secure": "on",
            "storage_0_domain": "example.com",
            "storage_0_name": "k",
            "storage_0_value": "v",
            "disabled_features": ["TOOLS_VIDEO_CHAT", "MODE_LOGOUT"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    room = SameSurfRoom.objects.get(account=live_desk, title="Portal demo")
    vendor = Room.objects.get(number=room.number)
    assert vendor.start_url == "https://www.example.com/"
    assert vendor.options["disabledfeatures"] == ["TOOLS_VIDEO_CHAT", "MODE_LOGOUT"]
    assert vendor.options["session"]["cookies"][0]["secure"] is True
    assert vendor.options["session"]["cookies"][0]["path"] == "/"
    assert vendor.options["bookmarks"] == [
        {"name": "Docs", "link": "https://docs.example.com/"}
    ]
    html = c.get(response["Location"]).content.decode()
    assert room.leader_link and room.invitee_link
    assert f'data-copy="{room.leader_link}"' in html
    assert f'data-copy="{room.invitee_link}"' in html
    # It is on the running rooms page at once, and its activity links to its page.
    assert "Portal demo" in c.get(url("running", live_desk)).content.decode()
    activity = Activity.objects.get(account=live_desk, title="Portal demo")
    assert activity.link == url("room_detail", live_desk, room.pk)


@SANDBOX
def test_a_refused_schedule_shows_the_errors_next_to_the_fields_and_keeps_input(
    live_desk, login, personas
):
    c = login(personas["agent"])
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "event_time": past,
        "timezone": "Europe/London",
        "length_minutes": "30",
        "invitees": "a@example.com",
        "invite_message": "See you there",
        "start_url": "https://www.example.com/",
        "title": "Kept title",
        "bookmark_0_name": "Kept bookmark",
        "bookmark_0_link": "https://kept.example.com/",
    }
    response = c.post(url("scheduled", live_desk), form)
    assert response.status_code == 422
    event_field = response.context["form"]["event_time"]
    assert "must be in the future" in " ".join(event_field.errors)
    html = response.content.decode()
    for kept in ("Kept title", "Kept bookmark", "https://kept.example.com/", "See you"):
        assert kept in html
    # Length 0: errorcode 123 next to the length.
    future = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = c.post(
        url("scheduled", live_desk),
        {**form, "event_time": future, "length_minutes": "0"},
    )
    assert response.status_code == 422
    assert response.context["form"]["length_minutes"].errors
    # A bad invitee: errorcode 104 next to the invitees.
    response = c.post(
        url("scheduled", live_desk),
        {**form, "event_time": future, "invitees": "not-an-address"},
    )
    assert response.status_code == 422
    assert response.context["form"]["invitees"].errors
    # No start URL for a scheduled room: errorcode 105 next to the start URL.
    response = c.post(
        url("scheduled", live_desk),
        {**form, "event_time": future, "start_url": ""},
    )
    assert response.status_code == 422
    assert "start URL is required" in " ".join(
        response.context["form"]["start_url"].errors
    )
    assert not SameSurfScheduledRoom.objects.filter(account=live_desk).exists()


@SANDBOX
def test_schedule_a_room_then_create_and_revoke_a_token(live_desk, login, personas):
    c = login(personas["agent"])
    future = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = c.post(
        url("scheduled", live_desk),
        {
            "event_time": future,
            "timezone": "America/New_York",
            "length_minutes": "45",
            "invitees": "ann@example.com, bob@example.com",
            "invite_message": "Quarterly review",
            "start_url": "https://www.example.com/",
            "title": "Quarterly review",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    room = SameSurfScheduledRoom.objects.get(account=live_desk)
    vendor = Room.objects.get(number=room.external_id)
    assert vendor.timezone == "America/New_York" and vendor.length_minutes == 45
    assert "Quarterly review" in c.get(url("scheduled", live_desk)).content.decode()
    # A usage limit of 0: SameSurf's errorcode 125 next to the field.
    refused = c.post(url("scheduled_token", live_desk, room.pk), {"usage_limit": "0"})
    assert refused.status_code == 422
    assert refused.context["token_form"]["usage_limit"].errors
    made = c.post(
        url("scheduled_token", live_desk, room.pk),
        {"usage_limit": "2", "is_leader": "on", "users_name": "Ann"},
    )
    assert made.status_code == 302
    token = SameSurfToken.objects.get(account=live_desk)
    assert LimitedUseToken.objects.filter(token=token.external_id).exists()
    detail = c.get(url("scheduled_detail", live_desk, room.pk)).content.decode()
    assert token.link in detail and "Ann" in detail
    c.post(url("token_revoke", live_desk, token.pk))
    token.refresh_from_db()
    assert token.removed_at is not None
    assert not LimitedUseToken.objects.filter(token=token.external_id).exists()


@SANDBOX
def test_recordings_thumbnails_open_and_room_analytics(live_desk, login, personas):
    from cobrowse_portal.vendorkit.runs import execute_stream

    execute_stream(live_desk.pk, "analytics")
    room = (
        SameSurfRoom.objects.filter(account=live_desk, recordings__gt=0)
        .order_by("-started_at")
        .first()
    )
    c = login(personas["manager"])
    shown = c.post(url("room_thumbnails", live_desk, room.pk), **HX).content.decode()
    rec = SameSurfRecording.objects.get(room=room, index=0)
    assert rec.link("thumbnail") and f'src="{rec.link("thumbnail")}"' in shown
    opened = c.post(url("recording_open", live_desk, rec.pk))
    assert opened.status_code == 302
    rec.refresh_from_db()
    assert opened["Location"] == rec.link("public_link")
    c.post(url("room_analytics", live_desk, room.pk))
    html = c.get(url("room_detail", live_desk, room.pk)).content.decode()
    assert "Fetch again" in html and room.analytics.users


@SANDBOX
def test_reseller_creates_a_subscription_with_its_workspace_adds_a_key_and_deletes(
    live_desk, login, personas, reseller
):
    c = login(personas["manager"])
    # Licence count 0: errorcode 124 next to it; the name typed is kept.
    refused = c.post(
        url("subscription_add", live_desk), {"name": "Umbrella", "license_count": "0"}
    )
    assert refused.status_code == 422
    assert refused.context["form"]["license_count"].errors
    assert 'value="Umbrella"' in refused.content.decode()
    made = c.post(
        url("subscription_add", live_desk),
        {
            "name": "Umbrella",
            "license_count": "5",
            "override_0_key": "communications_active",
            "override_0_value": "false",
            "bookmark_0_name": "Home",
            "bookmark_0_link": "https://umbrella.example.com/",
            "disabled_features": ["MODE_SCREEN_SHARE"],
            "create_workspace": "on",
        },
    )
    assert made.status_code == 302, made.content.decode()[:3000]
    sub = SameSurfSubscription.objects.get(account=live_desk, name="Umbrella")
    assert Subscription.objects.filter(name="Umbrella", license_count=5).exists()
    workspace = Workspace.objects.get(pk=sub.client_workspace_id)
    assert workspace.parent_id == reseller.pk
    creds = VendorAccount.objects.get(pk=sub.client_account_id).credentials
    assert creds["api_key"] and creds["api_secret"]
    detail = c.get(made["Location"]).content.decode()
    assert creds["api_secret"] not in detail and creds["api_key"] not in detail
    # A further key is shown once, on the answer to the POST only.
    shown = c.post(url("subscription_key", live_desk, sub.pk))
    assert shown.status_code == 200
    key = SameSurfApiKey.objects.filter(subscription=sub).order_by("-pk").first()
    secret = key.credentials()["api_secret"]
    assert secret in shown.content.decode()
    assert "no-store" in shown["Cache-Control"] or "no-cache" in shown["Cache-Control"]
    assert (
        secret
        not in c.get(url("subscription_detail", live_desk, sub.pk)).content.decode()
    )
    gone = c.post(
        url("subscription_delete", live_desk, sub.pk), {"workspace": "archive"}
    )
    assert gone.status_code == 302
    sub.refresh_from_db()
    workspace.refresh_from_db()
    assert sub.removed_at and workspace.archived_at
    assert not Subscription.objects.filter(name="Umbrella").exists()
