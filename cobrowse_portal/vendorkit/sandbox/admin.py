"""Fault profiles are editable in the Django admin (they live in the sandbox DB)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin

from .models import FaultProfile


class FaultProfileAdmin(admin.ModelAdmin):
    list_display = [
        "vendor",
        "account_key",
        "rate_429",
        "rate_500",
        "rate_timeout",
        "rate_malformed",
        "delay_ms",
    ]
    list_filter = ["vendor"]


# Without sandboxes (production) their tables may not exist: keep them out.
if settings.SANDBOX_ENABLED:
    admin.site.register(FaultProfile, FaultProfileAdmin)
