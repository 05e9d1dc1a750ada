"""Django admin for superusers: every Smartsupp model, read-mostly.

Local rows mirror Smartsupp; editing them here changes nothing at Smartsupp
(the portal's pages do that through services.py). No model here holds a
secret: the partner apiKey lives only, encrypted, in the account, and user
passwords are never stored.
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


@admin.register(models.SmartsuppAccount)
class SmartsuppAccountAdmin(SyncedAdmin):
    list_display = [
        "__str__",
        "external_id",
        "lang",
        "account_key",
        "client_workspace",
        "account",
        "removed_at",
    ]
    list_filter = ["lang"]
    list_select_related = ["account", "client_workspace"]
    search_fields = ["title", "external_id", "account_key"]
    raw_id_fields = ["client_workspace"]


@admin.register(models.SmartsuppUser)
class SmartsuppUserAdmin(SyncedAdmin):
    list_display = [
        "__str__",
        "email",
        "role",
        "nickname",
        "active",
        "smartsupp_account",
        "account",
        "removed_at",
    ]
    list_filter = ["role", "active"]
    list_select_related = ["account", "smartsupp_account"]
    search_fields = ["fullname", "nickname", "email", "external_id"]
    raw_id_fields = ["smartsupp_account"]


@admin.register(models.SmartsuppTrigger)
class SmartsuppTriggerAdmin(SyncedAdmin):
    list_display = [
        "__str__",
        "event",
        "active",
        "only_once",
        "smartsupp_account",
        "account",
        "removed_at",
    ]
    list_filter = ["active", "event"]
    list_select_related = ["account", "smartsupp_account"]
    search_fields = ["name", "external_id"]
    raw_id_fields = ["smartsupp_account"]


@admin.register(models.SmartsuppOfficeHours)
class SmartsuppOfficeHoursAdmin(SyncedAdmin):
    list_display = ["__str__", "active", "days", "timezone", "account"]
    list_filter = ["active"]
    list_select_related = ["account", "smartsupp_account"]
    raw_id_fields = ["smartsupp_account"]


class SmartsuppChatMessageInline(admin.TabularInline):
    model = models.SmartsuppChatMessage
    extra = 0
    can_delete = False
    fields = ["position", "type", "name", "content", "sent_at", "triggered_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.SmartsuppChat)
class SmartsuppChatAdmin(BigTableAdmin, SyncedAdmin):
    """A hook per finished chat, for years: counts capped, newest first by id,
    no date hierarchy (a begin-time filter instead), search on the exact chat,
    Smartsupp account or visitor id."""

    list_display = [
        "__str__",
        "begin_at",
        "duration",
        "is_missed",
        "is_offline",
        "smartsupp_account_id",
        "visitor_name",
        "agent_name",
        "account",
    ]
    list_filter = [
        "is_missed",
        "is_offline",
        "is_triggered",
        ("begin_at", admin.DateFieldListFilter),
    ]
    # Exact matches on the (account, …) indexes; a substring search would read
    # every row.
    exact_search_fields = ["external_id", "smartsupp_account_id", "agent_id"]
    search_help_text = "The exact chat (channel) id, Smartsupp account id or agent id."
    list_defer = ["raw", "paths", "rating_desc"]
    inlines = [SmartsuppChatMessageInline]


@admin.register(models.SmartsuppChatMessage)
class SmartsuppChatMessageAdmin(BigTableAdmin):
    """Many rows per chat: counts capped, newest first by id, no search (a
    message has no account of its own to search by; open its chat instead)."""

    list_display = ["__str__", "type", "name", "sent_at", "chat"]
    list_filter = ["type"]
    list_select_related = ["chat"]
    raw_id_fields = ["chat"]
