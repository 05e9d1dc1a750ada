"""Django admin for superusers: every SameSurf model, read-mostly.

Local rows mirror SameSurf; editing them here changes nothing at SameSurf (the
portal's pages do that through services.py). A subscription key's encrypted
key and secret (`SameSurfApiKey.secret_encrypted`) are never shown or editable.
"""

from __future__ import annotations

from django.contrib import admin

from cobrowse_portal.vendorkit.bigadmin import BigTableAdmin

from . import models

SYNC_FIELDS = ["external_id", "fingerprint", "synced_at", "removed_at", "raw"]


class SyncedAdmin(admin.ModelAdmin):
    list_select_related = ["account"]
    readonly_fields = SYNC_FIELDS
    search_fields = ["external_id"]

    def get_list_filter(self, request):
        return [
            *self.list_filter,
            "account",
            ("removed_at", admin.EmptyFieldListFilter),
        ]


@admin.register(models.SameSurfRoom)
class SameSurfRoomAdmin(BigTableAdmin, SyncedAdmin):
    """Analytics rooms reach the hundred thousands: counts capped, exact search."""

    list_display = [
        "__str__",
        "number",
        "version",
        "started_at",
        "duration",
        "is_running",
        "recordings",
        "account",
    ]
    list_filter = ["is_running", ("started_at", admin.DateFieldListFilter)]
    exact_search_fields = ["external_id", "number"]
    search_help_text = "The exact room number or key (number:version)."
    list_defer = ["raw", "options"]


@admin.register(models.SameSurfRecording)
class SameSurfRecordingAdmin(BigTableAdmin, SyncedAdmin):
    list_display = ["__str__", "index", "thumbnail_expires_at", "account"]
    list_select_related = ["account", "room"]
    exact_search_fields = ["external_id"]
    list_defer = ["raw"]
    raw_id_fields = ["room"]


@admin.register(models.SameSurfRoomAnalytics)
class SameSurfRoomAnalyticsAdmin(SyncedAdmin):
    list_display = ["__str__", "fetched_at", "account"]
    list_select_related = ["account", "room"]
    raw_id_fields = ["room"]


@admin.register(models.SameSurfScheduledRoom)
class SameSurfScheduledRoomAdmin(SyncedAdmin):
    list_display = ["__str__", "event_at", "timezone", "length_minutes", "account"]
    search_fields = ["title", "external_id"]


@admin.register(models.SameSurfToken)
class SameSurfTokenAdmin(SyncedAdmin):
    list_display = ["__str__", "usage_limit", "is_leader", "users_name", "removed_at"]
    raw_id_fields = ["room"]


@admin.register(models.SameSurfUsage)
class SameSurfUsageAdmin(SyncedAdmin):
    list_display = ["taken_at", "rooms_today", "rooms_total", "account"]


@admin.register(models.SameSurfSubscription)
class SameSurfSubscriptionAdmin(SyncedAdmin):
    list_display = [
        "name",
        "license_count",
        "check_status",
        "client_workspace",
        "account",
        "removed_at",
    ]
    list_filter = ["check_status"]
    search_fields = ["name", "external_id"]
    raw_id_fields = ["client_workspace", "client_account"]


@admin.register(models.SameSurfApiKey)
class SameSurfApiKeyAdmin(SyncedAdmin):
    list_display = ["__str__", "subscription", "check_status", "checked_at"]
    exclude = ["secret_encrypted"]
    raw_id_fields = ["subscription"]
