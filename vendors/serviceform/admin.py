"""Django admin for superusers: every Serviceform model, read-mostly.

Local rows mirror Serviceform; editing them here changes nothing at Serviceform
(the portal's pages do that through services.py). No model here holds a
secret: the `sf-api-key` lives only, encrypted, in the account.
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


@admin.register(models.ServiceformSpace)
class ServiceformSpaceAdmin(SyncedAdmin):
    """A handful of spaces per account: the stock changelist."""

    list_display = ["__str__", "external_id", "account", "synced_at", "removed_at"]
    search_fields = ["name", "external_id"]


@admin.register(models.ServiceformItem)
class ServiceformItemAdmin(BigTableAdmin, SyncedAdmin):
    """Items grow with the spaces: counts capped, exact search on the item id
    or its exact primary field (the (account, space, primary_field) index)."""

    list_display = [
        "__str__",
        "external_id",
        "space",
        "updated",
        "last_updater",
        "account",
    ]
    list_select_related = ["account", "space"]
    list_filter = ["space"]
    # The space is chosen from a search box, not a list of every space.
    raw_id_fields = ["space"]
    exact_search_fields = ["external_id", "primary_field", "uid"]
    search_help_text = "The exact Serviceform item id, uid or primary field."
    list_defer = ["raw", "values"]


@admin.register(models.ServiceformLead)
class ServiceformLeadAdmin(BigTableAdmin, SyncedAdmin):
    """Leads pile up: counts capped, exact search on the lead id or e-mail."""

    list_display = [
        "__str__",
        "email",
        "form_name",
        "source",
        "created",
        "account",
    ]
    list_filter = [("created", admin.DateFieldListFilter)]
    exact_search_fields = ["external_id", "email"]
    search_help_text = "The exact Serviceform lead id or e-mail."
    list_defer = ["raw", "values", "message"]


@admin.register(models.ServiceformChat)
class ServiceformChatAdmin(BigTableAdmin, SyncedAdmin):
    """Months of chats: counts capped, newest first by id, no date hierarchy (a
    start-time filter instead), exact search on the chat or visitor id."""

    list_display = [
        "__str__",
        "started_at",
        "status",
        "is_chatbot",
        "duration",
        "message_count",
        "visitor_name",
        "agent_name",
        "account",
    ]
    list_filter = [
        "status",
        "is_chatbot",
        ("started_at", admin.DateFieldListFilter),
    ]
    exact_search_fields = ["external_id", "visitor_uid", "agent_external_id"]
    search_help_text = "The exact Serviceform chat id (cid), visitor uid or agent id."
    list_defer = ["raw", "last_message"]


@admin.register(models.ServiceformMessage)
class ServiceformMessageAdmin(BigTableAdmin, SyncedAdmin):
    """The biggest table (every chat's transcript): counts capped, exact search
    on the message key ("<cid>/<message id>"), the chat chosen by id."""

    list_display = ["__str__", "position", "sender", "sent_at", "chat", "account"]
    list_select_related = ["account", "chat"]
    list_filter = ["sender"]
    raw_id_fields = ["chat"]
    exact_search_fields = ["external_id"]
    search_help_text = 'The exact message key: "<chat cid>/<message id>".'
    list_defer = ["raw", "text"]


@admin.register(models.ServiceformChatStatDay)
class ServiceformChatStatDayAdmin(SyncedAdmin):
    list_display = [
        "day",
        "chats",
        "chatbot_chats",
        "human_chats",
        "avg_response_seconds",
        "rating",
        "account",
    ]
