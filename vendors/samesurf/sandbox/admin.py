"""The SameSurf sandbox's state in the Django admin (it lives in the sandbox DB)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin

from . import models


class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "is_reseller", "reseller", "license_count", "created_at"]
    list_filter = ["is_reseller"]
    search_fields = ["name"]


class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "subscription", "allow_none"]
    # The sandbox's keys are demo values, but secrets stay out of admin pages anyway.
    exclude = ["key", "secret"]


class RoomAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "version",
        "subscription",
        "title",
        "started_at",
        "ended_at",
    ]
    list_filter = ["subscription"]
    date_hierarchy = "started_at"
    search_fields = ["number", "title"]
    show_full_result_count = False  # months of rooms: no COUNT(*) per page


class LimitedUseTokenAdmin(admin.ModelAdmin):
    list_display = ["token", "room", "usage_limit", "is_leader", "users_name"]
    raw_id_fields = ["room"]


# Without sandboxes (production) their tables may not exist: keep them out.
if settings.SANDBOX_ENABLED:
    admin.site.register(models.Subscription, SubscriptionAdmin)
    admin.site.register(models.ApiKey, ApiKeyAdmin)
    admin.site.register(models.Room, RoomAdmin)
    admin.site.register(models.LimitedUseToken, LimitedUseTokenAdmin)
