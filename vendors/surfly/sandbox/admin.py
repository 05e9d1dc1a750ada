"""The Surfly sandbox's state in the Django admin (it lives in the sandbox DB)."""

from __future__ import annotations

from django.contrib import admin

from . import models


@admin.register(models.Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "is_reseller", "reseller", "plan", "history_page_size"]
    list_filter = ["is_reseller"]
    search_fields = ["name", "client_key"]
    # The sandbox's keys are demo values, but keys stay out of admin pages anyway.
    exclude = ["api_key"]


@admin.register(models.Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "company", "role", "available", "online"]
    list_filter = ["role", "available"]
    exclude = ["password", "token"]


@admin.register(models.SandboxSession)
class SandboxSessionAdmin(admin.ModelAdmin):
    list_display = ["formatted_id", "company", "start_time", "end_time", "duration"]
    list_filter = ["company"]
    date_hierarchy = "start_time"
    search_fields = ["formatted_id", "session_id", "raw_id"]
    raw_id_fields = ["option_set"]
    list_select_related = ["company"]


@admin.register(models.Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "category", "url", "enabled"]
    list_filter = ["category", "enabled"]


@admin.register(models.OptionSet)
class OptionSetAdmin(admin.ModelAdmin):
    list_display = ["id", "digest"]
