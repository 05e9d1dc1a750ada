"""Running rooms, starting a room, room history and a room's page (recordings,
per-room analytics, limited-use tokens), and the analytics overview."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.pagination import keyset_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.urlcache import url_pattern
from cobrowse_portal.core.vendorforms import (
    Write,
    attempt,
    back_to,
    failure_text,
    report_failure,
    submit,
)
from cobrowse_portal.vendorkit.errors import VendorError
from cobrowse_portal.vendorkit.safeurl import safe_url

from .. import services
from ..forms import HistoryFilterForm, RecordingForm, RoomStartForm, TokenForm
from ..models import SameSurfRecording, SameSurfRoom, SameSurfToken, SameSurfUsage
from .common import page_context, samesurf_account

PAGE = 50
#: Thumbnails asked for at once by "Show thumbnails" (one call each).
THUMBNAILS = 12


def _rooms(account):
    return SameSurfRoom.objects.filter(account=account, removed_at__isnull=True)


def _list_rows(account):
    return _rooms(account).defer(*SameSurfRoom.LIST_DEFER)


def _page(qs, params):
    try:
        return keyset_page(qs, params, "started_at", size=PAGE)
    except (ValidationError, ValueError, TypeError, OverflowError):
        # A hand-edited cursor that decodes but names no valid time: start over.
        params = params.copy()
        params.pop("after", None)
        return keyset_page(qs, params, "started_at", size=PAGE)


def _detail_urls(account, rows) -> None:
    pattern = url_pattern("samesurf:room_detail", "account_id", "pk")
    for row in rows:
        row.detail_url = pattern.format(account_id=account.pk, pk=row.pk)


def allow_images_from(response, account):
    """Let this page show images from the account's own API host too: the site
    policy allows https images (SameSurf's storage); an http API host (the
    local demo's sandbox serves its recording pictures itself) is named."""
    parts = urlsplit(account.base_url or "")
    if parts.scheme == "http" and parts.netloc:
        response._csp_update = {"img-src": [f"http://{parts.netloc}"]}
    return response


@role_required(Role.AGENT)
def running(request, account_id: int):
    account = samesurf_account(request, account_id)
    # The partial index of running rooms, newest first, a page at a time.
    page = _page(_list_rows(account).filter(is_running=True), request.GET)
    now = timezone.now()
    for row in page.rows:
        row.elapsed = now - row.started_at if row.started_at else None
    _detail_urls(account, page.rows)
    live_url = url_pattern("samesurf:running", "account_id").format(
        account_id=account.pk
    )
    query = request.GET.urlencode()
    return render_page(
        request,
        "samesurf/running.html",
        page_context(
            request,
            account,
            rooms=page.rows,
            page=page,
            refreshed_at=now,
            # The poll keeps the page the person is on.
            poll_url=live_url + (f"?{query}" if query else ""),
        ),
        partial="table",
    )


@role_required(Role.AGENT)
def room_start(request, account_id: int):
    account = samesurf_account(request, account_id)
    form = RoomStartForm(request.POST or None, vendor_label=account.spec.label)
    response, status = submit(
        request,
        form,
        lambda data: services.start_room(account, **form.room_options()),
        lambda room: redirect(
            reverse("samesurf:room_start", args=[account.pk]) + f"?started={room.pk}"
        ),
    )
    if response:
        return response
    started = None
    started_id = request.GET.get("started", "")
    if request.method == "GET" and started_id.isdigit():
        started = _rooms(account).filter(pk=int(started_id)).first()
    return render_page(
        request,
        "samesurf/room_start.html",
        page_context(request, account, form=form, started=started),
        status=status,
    )


@role_required(Role.MANAGER)
def history(request, account_id: int):
    account = samesurf_account(request, account_id)
    form = HistoryFilterForm(request.GET or None)
    qs = _list_rows(account)
    if form.is_bound and form.is_valid():
        number = form.cleaned_data["q"].strip()
        if number:
            # The (account, number) index; titles are not searched (no index).
            qs = qs.filter(number=number)
        if form.cleaned_data["with_recordings"]:
            qs = qs.filter(recordings__gt=0)
    page = _page(qs, request.GET)
    _detail_urls(account, page.rows)
    return render_page(
        request,
        "samesurf/history.html",
        page_context(
            request,
            account,
            form=form,
            page=page,
            has_any=bool(page.rows) or _rooms(account).exists(),
        ),
        partial="results",
    )


def _detail_context(request, account, room, **extra) -> dict:
    recordings = list(room.recording_rows.filter(removed_at__isnull=True))
    for rec in recordings:
        rec.thumbnail_url = rec.link("thumbnail")
    analytics = getattr(room, "analytics", None) if room.pk else None
    tokens = SameSurfToken.objects.filter(
        account=account, room=room, removed_at__isnull=True
    )
    return page_context(
        request,
        account,
        room=room,
        recordings=recordings,
        analytics=analytics,
        tokens=tokens,
        token_form=extra.pop("token_form", None) or TokenForm(),
        recording_form=RecordingForm(),
        elapsed=(timezone.now() - room.started_at)
        if room.is_running and room.started_at
        else None,
        **extra,
    )


def _detail(request, account, room, *, status=200, partial=None, **extra):
    response = render_page(
        request,
        "samesurf/room_detail.html",
        _detail_context(request, account, room, **extra),
        status=status,
        partial=partial,
    )
    return allow_images_from(response, account)


def _room(account, pk):
    try:
        return _rooms(account).select_related("analytics").get(pk=pk)
    except SameSurfRoom.DoesNotExist:
        return get_object_or_404(_rooms(account), pk=pk)


@role_required(Role.AGENT)
def room_detail(request, account_id: int, pk: int):
    account = samesurf_account(request, account_id)
    return _detail(request, account, _room(account, pk))


@role_required(Role.AGENT)
@require_POST
def room_thumbnails(request, account_id: int, pk: int):
    """Ask SameSurf for the thumbnails of the room's recordings (short-lived
    links, stored with their expiry) and show them."""
    account = samesurf_account(request, account_id)
    room = _room(account, pk)
    error = None
    try:
        for rec in room.recording_rows.filter(removed_at__isnull=True)[:THUMBNAILS]:
            if not rec.link("thumbnail"):
                services.recording_link(account, rec, "thumbnail")
    except VendorError as exc:
        error = failure_text(exc, account.spec.label)
    if request.htmx:
        return _detail(
            request, account, room, partial="recordings", recordings_error=error
        )
    if error:
        messages.error(request, error)
    return redirect("samesurf:room_detail", account_id=account.pk, pk=room.pk)


@role_required(Role.AGENT)
@require_POST
def recording_open(request, account_id: int, pk: int):
    """Ask SameSurf for the recording's temporary public link and go there."""
    account = samesurf_account(request, account_id)
    recording = get_object_or_404(
        SameSurfRecording.objects.select_related("room").filter(
            account=account, removed_at__isnull=True, room__removed_at__isnull=True
        ),
        pk=pk,
    )
    detail = reverse("samesurf:room_detail", args=[account.pk, recording.room_id])
    form = RecordingForm(request.POST)
    valid_for = form.cleaned_data.get("valid_for") if form.is_valid() else None
    link = recording.link("public_link")
    if not link:
        try:
            link = services.recording_link(
                account, recording, "public_link", valid_for=valid_for
            )
        except VendorError as exc:
            report_failure(request, exc, "opened", account.spec.label)
            return redirect(detail)
    link = safe_url(link)
    if not link:
        messages.error(
            request, f"{account.spec.label} sent no usable link for this recording."
        )
        return redirect(detail)
    return HttpResponseRedirect(link)


@role_required(Role.MANAGER)
@require_POST
def room_analytics(request, account_id: int, pk: int):
    """Fetch the room's events and users from SameSurf and store them."""
    account = samesurf_account(request, account_id)
    room = _room(account, pk)
    try:
        services.fetch_room_analytics(account, room)
    except VendorError as exc:
        report_failure(request, exc, "fetched", account.spec.label)
    else:
        messages.success(request, "Room analytics fetched and stored.")
    return redirect("samesurf:room_detail", account_id=account.pk, pk=room.pk)


@role_required(Role.AGENT)
@require_POST
def room_token(request, account_id: int, pk: int):
    """A limited-use invitation for a room."""
    account = samesurf_account(request, account_id)
    room = _room(account, pk)
    form = TokenForm(request.POST, vendor_label=account.spec.label)
    response, status = submit(
        request,
        form,
        lambda data: services.create_token(account, room, **data),
        lambda token: redirect(
            reverse("samesurf:room_detail", args=[account.pk, room.pk])
            + f"?token={token.pk}#tokens"
        ),
    )
    return response or _detail(request, account, room, status=status, token_form=form)


@role_required(Role.AGENT)
@require_POST
def token_revoke(request, account_id: int, pk: int):
    account = samesurf_account(request, account_id)
    token = get_object_or_404(
        SameSurfToken.objects.filter(account=account, removed_at__isnull=True), pk=pk
    )
    default = reverse("samesurf:scheduled", args=[account.pk])
    if token.room_id:
        default = reverse("samesurf:room_detail", args=[account.pk, token.room_id])
    write = Write(account, services.revoke_token, f"Revoke token {token}", token)
    done, answer = attempt(request, write, "revoked")
    if done:
        messages.success(request, answer)
    return back_to(request, default)


@role_required(Role.MANAGER)
def analytics(request, account_id: int):
    account = samesurf_account(request, account_id)
    latest = (
        SameSurfUsage.objects.filter(account=account, removed_at__isnull=True)
        .defer("raw")
        .order_by("-taken_at")
        .first()
    )
    if latest is not None:
        # SameSurf reports minutes; durations are written from seconds.
        # An average over no rooms is unknown, not "0 s".
        for name, field, rooms in (
            ("avg_today", "average_minutes_today", "rooms_today"),
            ("avg_week", "average_minutes_this_week", "rooms_this_week"),
            ("avg_month", "average_minutes_this_month", "rooms_this_month"),
            ("avg_all", "average_minutes_all_time", "rooms_total"),
        ):
            minutes = getattr(latest, field)
            none = minutes is None or getattr(latest, rooms) == 0
            setattr(latest, name, None if none else minutes * 60)
    return render_page(
        request,
        "samesurf/analytics.html",
        page_context(request, account, overview=latest),
    )
