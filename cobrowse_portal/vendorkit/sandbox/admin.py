"""Fault profiles are editable in the Django admin (they live in the sandbox DB)."""

from __future__ import annotations

from django.contrib import admin

from .models import FaultProfile


@admin.register(FaultProfile)
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
