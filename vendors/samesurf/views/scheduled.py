"""Scheduled rooms: the rooms scheduled from the portal (SameSurf has no call
listing them), the schedule form, and each room's limited-use tokens."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.vendorforms import submit

from .. import services
from ..forms import ScheduleForm, TokenForm
from ..models import SameSurfScheduledRoom, SameSurfToken
from .common import page_context, samesurf_account

#: Past scheduled rooms shown under the upcoming ones.
RECENT = 20


def _scheduled(account):
    return SameSurfScheduledRoom.objects.filter(
        account=account, removed_at__isnull=True
    ).defer("raw", "options")


@role_required(Role.AGENT)
def scheduled(request, account_id: int):
    """The list, and (POST) scheduling a room."""
    account = samesurf_account(request, account_id)
    form = ScheduleForm(request.POST or None, vendor_label=account.spec.label)

    def schedule(data):
        options = form.schedule_options()
        options["timezone_name"] = options.pop("timezone") or ""
        options["invite_message"] = options["invite_message"] or ""
        options["starturl"] = options["starturl"] or ""
        options["title"] = options["title"] or ""
        return services.schedule_room(account, **options)

    response, status = submit(
        request,
        form,
        schedule,
        lambda room: redirect(
            reverse("samesurf:scheduled_detail", args=[account.pk, room.pk])
            + "?scheduled=1"
        ),
    )
    if response:
        return response
    now = timezone.now()
    rooms = _scheduled(account)
    return render_page(
        request,
        "samesurf/scheduled.html",
        page_context(
            request,
            account,
            form=form,
            upcoming=list(rooms.filter(event_at__gte=now).order_by("event_at", "pk")),
            past=list(
                rooms.filter(event_at__lt=now).order_by("-event_at", "-pk")[:RECENT]
            ),
        ),
        status=status,
    )


def _detail(request, account, room, *, token_form=None, status=200):
    tokens = SameSurfToken.objects.filter(
        account=account, room_number=room.external_id, removed_at__isnull=True
    )
    return render_page(
        request,
        "samesurf/scheduled_detail.html",
        page_context(
            request,
            account,
            room=room,
            tokens=tokens,
            token_form=token_form or TokenForm(),
            just_scheduled=request.GET.get("scheduled") == "1",
        ),
        status=status,
    )


@role_required(Role.AGENT)
def scheduled_detail(request, account_id: int, pk: int):
    account = samesurf_account(request, account_id)
    room = get_object_or_404(_scheduled(account), pk=pk)
    return _detail(request, account, room)


@role_required(Role.AGENT)
@require_POST
def scheduled_token(request, account_id: int, pk: int):
    """A limited-use invitation for a scheduled room."""
    account = samesurf_account(request, account_id)
    room = get_object_or_404(_scheduled(account), pk=pk)
    form = TokenForm(request.POST, vendor_label=account.spec.label)
    response, status = submit(
        request,
        form,
        lambda data: services.create_token(account, room, **data),
        lambda token: redirect(
            reverse("samesurf:scheduled_detail", args=[account.pk, room.pk]) + "#tokens"
        ),
    )
    return response or _detail(request, account, room, token_form=form, status=status)
