"""The Surfly sandbox's state in the Django admin (it lives in the sandbox DB)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin

from . import models


class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "is_reseller", "reseller", "plan", "history_page_size"]
    list_filter = ["is_reseller"]
    search_fields = ["name", "client_key"]
    # The sandbox's keys are demo values, but keys stay out of admin pages anyway.
    exclude = ["api_key"]


class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "company", "role", "available", "online"]
    list_filter = ["role", "available"]
    exclude = ["password", "token"]


class SandboxSessionAdmin(admin.ModelAdmin):
    list_display = ["formatted_id", "company", "start_time", "end_time", "duration"]
    list_filter = ["company"]
    date_hierarchy = "start_time"
    search_fields = ["formatted_id", "session_id", "raw_id"]
    raw_id_fields = ["option_set"]
    list_select_related = ["company"]


class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "company", "category", "url", "enabled"]
    list_filter = ["category", "enabled"]


class OptionSetAdmin(admin.ModelAdmin):
    list_display = ["id", "digest"]


# Without sandboxes (production) their tables may not exist: keep them out.
if settings.SANDBOX_ENABLED:
    admin.site.register(models.Company, CompanyAdmin)
    admin.site.register(models.Agent, AgentAdmin)
    admin.site.register(models.SandboxSession, SandboxSessionAdmin)
    admin.site.register(models.Webhook, WebhookAdmin)
    admin.site.register(models.OptionSet, OptionSetAdmin)
