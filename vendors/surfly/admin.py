"""Django admin for superusers: every Surfly model, read-mostly.

Local rows mirror Surfly; editing them here does not change anything at Surfly
(the portal's pages do that through services.py). No model here holds a secret:
a client's REST key lives only, encrypted, in its workspace's VendorAccount.
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


@admin.register(models.SurflyAgent)
class SurflyAgentAdmin(SyncedAdmin):
    list_display = [
        "name",
        "email",
        "role",
        "available",
        "is_free",
        "last_login",
        "account",
        "removed_at",
    ]
    list_filter = ["role", "available", "is_free"]
    search_fields = ["name", "email", "external_id"]


@admin.register(models.CobrowseSession)
class CobrowseSessionAdmin(BigTableAdmin, SyncedAdmin):
    """A million rows: counts capped, newest first by id, no date hierarchy (a
    start-time filter instead), search on the exact session id or PIN."""

    list_display = [
        "__str__",
        "start_time",
        "end_time",
        "duration",
        "is_active",
        "agent_id",
        "pin",
        "account",
    ]
    list_filter = [
        "is_active",
        "successful_start",
        "queued",
        ("start_time", admin.DateFieldListFilter),
    ]
    # Exact matches on the (account, …) indexes; a substring search would read
    # every row.
    exact_search_fields = ["external_id", "pin"]
    search_help_text = "The exact Surfly session id or PIN."
    list_defer = ["raw", "meta", "options", "tags"]


@admin.register(models.SurflyClient)
class SurflyClientAdmin(SyncedAdmin):
    list_display = [
        "company_name",
        "plan",
        "agent_count",
        "external_id",
        "account",
        "removed_at",
    ]
    list_filter = ["plan"]
    search_fields = ["company_name", "external_id"]


@admin.register(models.SurflyWebhook)
class SurflyWebhookAdmin(SyncedAdmin):
    list_display = [
        "category",
        "url",
        "enabled",
        "disabled_by_portal",
        "ssl_verification",
        "account",
        "removed_at",
    ]
    list_filter = ["category", "enabled", "disabled_by_portal"]
    search_fields = ["url", "external_id"]


@admin.register(models.SurflyCompanyOptions)
class SurflyCompanyOptionsAdmin(SyncedAdmin):
    list_display = ["account", "synced_at"]


@admin.register(models.SurflyServer)
class SurflyServerAdmin(SyncedAdmin):
    list_display = ["description", "region", "external_id", "account"]
    list_filter = ["region"]
    search_fields = ["description", "external_id"]
