"""Django admin for superusers. Credentials are never part of any admin form."""

from __future__ import annotations

from django.contrib import admin

from cobrowse_portal.vendorkit.bigadmin import BigTableAdmin

from . import models


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(models.Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "parent", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "workspace__name"]


@admin.register(models.VendorAccount)
class VendorAccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "vendor",
        "workspace",
        "enabled",
        "status",
        "last_synced_at",
    ]
    list_filter = ["vendor", "enabled", "status"]
    search_fields = ["name", "workspace__name"]
    # Write-only secrets: change credentials in the portal's account form.
    exclude = ["credentials_encrypted", "webhook_token"]
    readonly_fields = [
        "status",
        "status_message",
        "last_synced_at",
        "credentials_changed_at",
        "created_at",
    ]


@admin.register(models.SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "account",
        "stream",
        "trigger",
        "status",
        "queued_at",
        "created",
        "updated",
        "removed",
        "unchanged",
        "requests",
    ]
    list_filter = ["status", "trigger", "stream"]
    date_hierarchy = "queued_at"
    list_select_related = ["account"]


@admin.register(models.SyncCursor)
class SyncCursorAdmin(admin.ModelAdmin):
    list_display = ["account", "stream", "updated_at"]


@admin.register(models.SyncClaim)
class SyncClaimAdmin(admin.ModelAdmin):
    list_display = ["account", "stream", "expires_at"]


@admin.register(models.WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "account",
        "event_type",
        "sequence",
        "status",
        "received_at",
        "record_key",
        "matched_at",
    ]
    list_filter = ["status", "event_type"]


@admin.register(models.Activity)
class ActivityAdmin(BigTableAdmin):
    """The control room's index: a million rows and more (vendorkit.bigadmin)."""

    list_display = [
        "id",
        "vendor",
        "account_name",
        "kind",
        "external_id",
        "status",
        "started_at",
        "agent_name",
    ]
    list_filter = ["vendor", "status", "kind"]
    list_select_related = ["account"]
    exact_search_fields = ["external_id", "agent_external_id"]
    list_defer = ["search", "tags", "url", "title"]
    raw_id_fields = ["workspace", "account", "agent"]

    @admin.display(description="account")
    def account_name(self, obj):
        # Not str(account): that names the vendor's label, and an index row may
        # belong to a vendor whose app is not installed.
        return obj.account.name
