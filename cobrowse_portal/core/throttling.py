"""Login throttling on top of django-axes: the portal's policy and lockout page.

Policy (README "Security"): failures are counted per *username at an address* and
per *address*, each against its own limit, within the cool-off window:

- `AXES_FAILURE_LIMIT` failures for one username from one address lock that
  username out **at that address** (single-account brute force);
- `AXES_ADDRESS_FAILURE_LIMIT` failures from one address, whatever usernames were
  tried, lock the whole address out (password spray).

Nobody can lock a user out from everywhere by typing their name: a lockout only
ever covers the attacker's own address. A successful login clears that username's
failures at that address, not the address total, so an attacker cannot reset the
spray counter by logging in to an account of their own.
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q, Sum
from django.shortcuts import render
from django.urls import reverse


class PortalAxesHandler(AxesDatabaseHandler):
    """Axes' database handler with a per-(username, address) limit and a separate,
    higher per-address limit (axes itself compares every counter to one limit)."""

    def get_failures(self, request, credentials=None) -> int:
        attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(
                attempt_time__gte=get_cool_off_threshold(request)
            )
        username = get_client_username(request, credentials)
        totals = attempts.aggregate(
            address=Sum("failures_since_start"),
            pair=Sum("failures_since_start", filter=Q(username=username)),
        )
        pair, address = totals["pair"] or 0, totals["address"] or 0
        if address >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return max(pair, get_failure_limit(request, credentials))
        return pair

    def reset_user_attempts(self, request, credentials=None) -> int:
        """On success, forget this username's failures at this address only."""
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count


def lockout_message(request=None) -> str:
    cool_off = get_cool_off(request)
    if not cool_off:
        return (
            "Too many failed log-in attempts. Ask an administrator to unlock "
            "the account."
        )
    minutes = max(1, round(cool_off.total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed log-in attempts. Try again in {minutes} {unit}, or ask "
        "an administrator to unlock the account."
    )


def _is_admin_login(request) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.namespace == admin.site.name
    return request.path == reverse("admin:login")


def lockout_response(request, original_response=None, credentials=None):
    """The login page the user was on (portal or Django admin), with the lockout
    message and no further password check, as 429 Too Many Requests."""
    username = get_client_username(request, credentials) or ""
    message = lockout_message(request)
    redirect_to = request.POST.get(REDIRECT_FIELD_NAME, "")
    if _is_admin_login(request):
        form = AdminAuthenticationForm(request, initial={"username": username})
        template = "admin/login.html"
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "app_path": request.get_full_path(),
            "username": username,
        }
    else:
        form = AuthenticationForm(request, initial={"username": username})
        template = "registration/login.html"
        context = {}
    # An unbound form (no password check runs) carrying the message.
    form.cleaned_data = {}
    form.add_error(None, message)
    context.update(
        {"form": form, REDIRECT_FIELD_NAME: redirect_to, "axes_locked_out": True}
    )
    return render(request, template, context, status=settings.AXES_HTTP_RESPONSE_CODE)
