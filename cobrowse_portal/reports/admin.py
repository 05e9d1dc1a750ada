from __future__ import annotations

from django.contrib import admin

from .models import OutboxMessage, ReportDefinition, ReportRun


@admin.register(ReportDefinition)
class ReportDefinitionAdmin(admin.ModelAdmin):
    """Saving here re-writes the definition's beat entry (signals)."""

    list_display = ("name", "workspace", "frequency", "hour", "enabled")
    list_filter = ("frequency", "enabled")
    search_fields = ("name", "workspace__name", "recipients")


@admin.register(ReportRun)
class ReportRunAdmin(admin.ModelAdmin):
    list_display = ("definition", "workspace", "period_start", "status", "sent_at")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in ReportRun._meta.fields]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "workspace", "recipients", "sent_at")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
