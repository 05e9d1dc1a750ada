"""Django admin for superusers: every Upscope model, read-mostly.

Local rows mirror Upscope; editing them here changes nothing at Upscope (the
portal's pages do that through services.py). No model here holds a secret: the
REST key lives only, encrypted, in the account.
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


@admin.register(models.UpscopeVisitor)
class UpscopeVisitorAdmin(BigTableAdmin, SyncedAdmin):
    """Visitors pile up as they are seen: counts capped, exact search."""

    list_display = [
        "__str__",
        "external_id",
        "lookup_code",
        "is_online",
        "last_seen_at",
        "location_country",
        "account",
    ]
    list_filter = ["is_online", "is_in_session"]
    exact_search_fields = ["external_id"]
    search_help_text = "The exact Upscope visitor short id."
    list_defer = ["raw", "identities", "integration_ids"]


@admin.register(models.UpscopeSession)
class UpscopeSessionAdmin(BigTableAdmin, SyncedAdmin):
    """A million rows: counts capped, newest first by id, no date hierarchy (a
    start-time filter instead), search on the exact session or visitor id."""

    list_display = [
        "__str__",
        "started_at",
        "ended_at",
        "duration",
        "is_ongoing",
        "visitor_short_id",
        "agent_name",
        "account",
    ]
    list_filter = [
        "is_ongoing",
        "went_live",
        ("started_at", admin.DateFieldListFilter),
    ]
    # Exact matches on the (account, …) indexes; a substring search would read
    # every row.
    exact_search_fields = ["external_id", "visitor_short_id", "agent_id"]
    search_help_text = "The exact Upscope session id, visitor short id or agent id."
    list_defer = ["raw", "agents", "metadata", "features_used", "tags"]


@admin.register(models.UpscopeAgent)
class UpscopeAgentAdmin(SyncedAdmin):
    list_display = [
        "__str__",
        "email",
        "agent_identifier",
        "kind",
        "last_session_at",
        "account",
        "removed_at",
    ]
    list_filter = ["kind", "looked_up_by"]
    search_fields = ["name", "email", "agent_identifier", "external_id"]


@admin.register(models.UpscopeUsage)
class UpscopeUsageAdmin(SyncedAdmin):
    list_display = [
        "taken_at",
        "sessions_today",
        "session_seconds_today",
        "visitors_online_now",
        "account",
    ]
