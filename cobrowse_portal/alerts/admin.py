from __future__ import annotations

from django.contrib import admin

from .models import Alert, AlertSettings


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("subject", "rule", "workspace", "status", "first_seen", "last_seen")
    list_filter = ("status", "rule")
    search_fields = ("subject", "key", "message")
    raw_id_fields = ("workspace", "account", "acknowledged_by")
    readonly_fields = (
        "first_seen",
        "last_seen",
        "resolved_at",
        "notified_open_at",
        "notified_resolved_at",
        "last_reminded_at",
    )


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    list_display = ("workspace", "failed_runs", "stale_factor", "reminder_hours")
    raw_id_fields = ("workspace",)
