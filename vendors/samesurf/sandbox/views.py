"""The SameSurf API v3 operations, as strict as SameSurf (rules.py), answering
the documented example shapes (records.py).

Choices where the docs are silent (README "SameSurf"): `runningrooms` pages
oldest first, 50 rooms when no `limit` is given (at most 1000);
`analyticsrooms` pages newest first (as the docs' example), 20 rooms when no
`take` is given (at most 1000), `start_date` inclusive and `end_date`
exclusive, in `timezone` (UTC without one), `total_rooms` a string as in the
example. Recording, thumbnail and image links point at this sandbox and stop
working after `validfor` minutes.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import UTC, timedelta
from urllib.parse import urlsplit

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from cobrowse_portal.vendorkit.sandbox.images import page_png
from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from . import records, rules
from .api import Refusal, ok, operation
from .models import ApiKey, LimitedUseToken, Room, Subscription

RUNNING_PAGE, ANALYTICS_PAGE, MAX_PAGE = 50, 20, 1000
THUMB_WIDTH, MAX_SIDE = 240, 4000
LINK_SALT = "samesurf-sandbox-recording"


def _page(body: dict, size_name: str, default: int) -> tuple[int, int]:
    skip = rules.number(body, "skip", default=0)
    size = rules.number(body, size_name, minimum=1, maximum=MAX_PAGE, default=default)
    return skip, size


# --- rooms -----------------------------------------------------------------------
@operation()
def runningrooms(request, sub: Subscription, body: dict):
    skip, limit = _page(body, "limit", RUNNING_PAGE)
    rooms = Room.objects.filter(
        subscription=sub, started_at__isnull=False, ended_at__isnull=True
    )
    page = rooms.order_by("started_at", "id")[skip : skip + limit]
    return ok(rooms=[records.running(r) for r in page], totalrooms=rooms.count())


@operation()
def create(request, sub: Subscription, body: dict):
    scheduled = body.get("eventtime") not in (None, "")
    starturl = rules.text(body, "starturl", 105, required=scheduled)
    if starturl:
        rules.url(starturl, "starturl", 105)
    title = rules.text(body, "title")
    options = {
        "bookmarks": rules.bookmarks(body),
        "session": rules.session(body),
        "disabledfeatures": rules.features(body, "disabledfeatures"),
    }
    room = Room(
        subscription=sub,
        number=records.new_number(),
        title=title,
        start_url=starturl,
        token=records.new_token(),
        leader_token=records.new_token(),
        options={k: v for k, v in options.items() if v},
    )
    if scheduled:
        tz = rules.zone(body)
        event = rules.wall_time(body["eventtime"], "eventtime", tz)
        if event <= timezone.now():
            raise Refusal(122)
        room.event_at = event
        room.timezone = tz if event.tzinfo is not UTC else ""
        room.length_minutes = rules.number(body, "lengthinminutes", 123, minimum=1)
        room.invitees = rules.emails(body)
        room.invite_message = rules.text(body, "invitemessage")
    else:
        room.started_at = timezone.now()
    for _ in range(5):  # a fresh room number (they are random)
        try:
            with transaction.atomic(using=ALIAS):
                room.save()
            break
        except IntegrityError:
            room.pk, room.number = None, records.new_number()
    return ok(**records.created(room))


def _room(sub: Subscription, body: dict, *, version: int | None = None) -> Room:
    """The subscription's room of that number (the given use, else the latest)."""
    rooms = Room.objects.filter(subscription=sub, number=rules.room_number(body))
    if version is not None:
        rooms = rooms.filter(version=version)
    room = rooms.order_by("-version").first()
    if room is None:
        raise Refusal(102)
    return room


@operation()
def find(request, sub: Subscription, body: dict):
    room = _room(sub, body)
    return ok(
        room=room.number,
        token=room.token,
        leadertoken=room.leader_token,
        publicinvitation=records.invitations(room)["publicinvitation"],
    )


# --- limited-use tokens -------------------------------------------------------------
@operation()
def createlimitedusetoken(request, sub: Subscription, body: dict):
    room = _room(sub, body)
    usage = rules.number(body, "usagelimit", 125, minimum=1, required=True)
    is_leader = rules.flag(body, "isleader", required=True)
    name = rules.text(body, "usersname")
    if room.ended_at is not None:
        raise Refusal(103)
    token = LimitedUseToken.objects.create(
        room=room,
        token=records.new_token(),
        usage_limit=usage,
        is_leader=is_leader,
        users_name=name,
    )
    return ok(
        token=token.token,
        link=records.LINK.format(room=room.number, token=token.token),
    )


@operation()
def deletelimitedusetoken(request, sub: Subscription, body: dict):
    value = rules.text(body, "token", 112, required=True)
    deleted, _ = LimitedUseToken.objects.filter(
        token=value, room__subscription=sub
    ).delete()
    if not deleted:
        raise Refusal(112)
    return ok()


# --- screen recordings ----------------------------------------------------------
def _recording_link(request, sub, body, kind: str) -> HttpResponse:
    room = _room(sub, body)
    index = rules.number(body, "recording", default=0)
    minutes = rules.number(body, "validfor", minimum=1, default=60)
    if index >= room.recordings:
        raise Refusal(109)
    width = height = None
    if kind == "image":
        width = rules.number(body, "width", 111, minimum=1, maximum=MAX_SIDE)
        height = rules.number(body, "height", 111, minimum=1, maximum=MAX_SIDE)
    elif kind == "thumb":
        width = THUMB_WIDTH
    payload = {
        "k": kind,
        "r": room.number,
        "v": room.version,
        "n": index,
        "w": width,
        "h": height,
        "until": int((timezone.now() + timedelta(minutes=minutes)).timestamp()),
    }
    signed = signing.dumps(payload, salt=LINK_SALT, compress=True)
    name = (
        "samesurf-sandbox-recording-page"
        if kind == "video"
        else "samesurf-sandbox-recording"
    )
    return ok(link=request.build_absolute_uri(reverse(name, args=[signed])))


@operation()
def screenrecordingpubliclink(request, sub, body):
    return _recording_link(request, sub, body, "video")


@operation()
def screenrecordingthumbnail(request, sub, body):
    return _recording_link(request, sub, body, "thumb")


@operation()
def screenrecordingimage(request, sub, body):
    return _recording_link(request, sub, body, "image")


def _link_payload(signed: str) -> dict:
    try:
        payload = signing.loads(signed, salt=LINK_SALT)
    except signing.BadSignature:
        raise Http404("no such recording link") from None
    if payload.get("until", 0) < timezone.now().timestamp():
        raise Http404("this recording link has expired")
    return payload


def recording_image(request, signed: str) -> HttpResponse:
    """Where thumbnail and image links point: a real PNG of the recorded page."""
    p = _link_payload(signed)
    width = p.get("w") or 800
    png = page_png(f"{p['r']}:{p['v']}", p["n"], width, p.get("h"))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


def recording_page(request, signed: str) -> HttpResponse:
    """Where a recording's public link points: a page showing the recording
    (its first frame: the sandbox has no video)."""
    p = _link_payload(signed)
    still = {**p, "k": "image", "w": 800, "h": None}
    src = reverse(
        "samesurf-sandbox-recording",
        args=[signing.dumps(still, salt=LINK_SALT, compress=True)],
    )
    title = f"Recording {p['n']} of room {p['r']}"
    html = (
        f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
        f'<img src="{escape(src)}" width="800" alt="{escape(title)}">'
    )
    return HttpResponse(html)


# --- analytics -------------------------------------------------------------------
@operation()
def analyticsoverview(request, sub: Subscription, body: dict):
    past = Room.objects.filter(subscription=sub, ended_at__isnull=False)
    now = timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    duration = "duration"
    figures = past.aggregate(
        total=Count("id"),
        today=Count("id", filter=Q(started_at__gte=today)),
        week=Count("id", filter=Q(started_at__gte=week)),
        month=Count("id", filter=Q(started_at__gte=month)),
        avg_all=Avg(duration),
        avg_today=Avg(duration, filter=Q(started_at__gte=today)),
        avg_week=Avg(duration, filter=Q(started_at__gte=week)),
        avg_month=Avg(duration, filter=Q(started_at__gte=month)),
    )

    def minutes(seconds) -> int:
        return round((seconds or 0) / 60)

    latest = past.order_by("-started_at").values_list("start_url", flat=True).first()
    hosts: Counter = Counter()
    for url, n in past.values_list("start_url").annotate(n=Count("id")):
        if url:
            hosts[urlsplit(url).hostname or url] += n
    return ok(
        url_latest=latest or "",
        url_most_popular=hosts.most_common(1)[0][0] if hosts else "",
        rooms_total=figures["total"],
        rooms_today=figures["today"],
        rooms_thisweek=figures["week"],
        rooms_thismonth=figures["month"],
        averageduration_alltime=minutes(figures["avg_all"]),
        averageduration_today=minutes(figures["avg_today"]),
        averageduration_thisweek=minutes(figures["avg_week"]),
        averageduration_thismonth=minutes(figures["avg_month"]),
    )


@operation()
def analyticsrooms(request, sub: Subscription, body: dict):
    skip, take = _page(body, "take", ANALYTICS_PAGE)
    tz = rules.zone(body)
    rooms = Room.objects.filter(subscription=sub, ended_at__isnull=False)
    for name, lookup in (
        ("start_date", "started_at__gte"),
        ("end_date", "started_at__lt"),
    ):
        if body.get(name) not in (None, ""):
            # A date range names wall times in `timezone`; UTC when none is given.
            moment = rules.wall_time(body[name], name, tz or "UTC")
            rooms = rooms.filter(**{lookup: moment})
    page = rooms.order_by("-started_at", "-id").values_list(*records.PAST_COLUMNS)
    return ok(
        total_rooms=str(rooms.count()),
        rooms=[records.past_from(r) for r in page[skip : skip + take]],
    )


@operation()
def roomanalytics(request, sub: Subscription, body: dict):
    version = rules.number(body, "version", default=0)
    room = _room(sub, body, version=version)
    if room.started_at is None:  # scheduled, not used yet: nothing to report
        raise Refusal(102, "the room has not been used yet")
    return ok(**records.analytics(room))


# --- reseller ----------------------------------------------------------------------
def _client(reseller: Subscription, body: dict, field: str) -> Subscription:
    name = rules.text(body, field, 115, required=True)
    sub = Subscription.objects.filter(name=name).first()
    if sub is None:
        raise Refusal(118)
    if sub.reseller_id != reseller.pk:
        raise Refusal(117)
    return sub


@operation(reseller=True)
def createsubscription(request, reseller: Subscription, body: dict):
    name = rules.text(body, "name", 115, required=True).strip()
    if not name:
        raise Refusal(115)
    count = rules.number(body, "licensecount", 124, minimum=1, required=True)
    overrides = rules.overrides(body)
    marks = rules.bookmarks(body, 121)
    # The parameter list says `disabledfeatures`, the example `disabled_features`.
    field = "disabled_features" if "disabled_features" in body else "disabledfeatures"
    disabled = rules.features(body, field, 121)
    try:
        with transaction.atomic(using=ALIAS):
            Subscription.objects.create(
                name=name,
                reseller=reseller,
                license_count=count,
                overrides=overrides,
                bookmarks=marks,
                disabled_features=disabled,
                created_at=timezone.now(),
            )
    except IntegrityError:
        raise Refusal(114) from None
    return ok()


@operation(reseller=True)
def deletesubscription(request, reseller: Subscription, body: dict):
    _client(reseller, body, "name").delete()
    return ok()


@operation(reseller=True)
def createapikey(request, reseller: Subscription, body: dict):
    sub = _client(reseller, body, "subscription")
    key = ApiKey.objects.create(
        subscription=sub,
        key=f"ssk_{secrets.token_hex(12)}",
        secret=secrets.token_urlsafe(32),
    )
    return ok(apikey=key.key, apisecret=key.secret)


@operation()
def unknown(request, sub: Subscription, body: dict, **kwargs):
    raise Refusal(100, "no such API method")
