"""System checks for production settings (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def sandbox_off_in_production(app_configs, **kwargs):
    if settings.SANDBOX_ENABLED and not settings.DEBUG:
        return [
            Warning(
                "SANDBOX_ENABLED is on with DEBUG off: fake vendor APIs are served.",
                hint="Set SANDBOX_ENABLED=false in production.",
                id="portal.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def broker_not_embedded(app_configs, **kwargs):
    if settings.CELERY_BROKER_URL.startswith("sqla+") and not settings.DEBUG:
        return [
            Warning(
                "The Celery broker is the embedded SQLite file.",
                hint="Use Redis in production: CELERY_BROKER_URL=redis://…",
                id="portal.W002",
            )
        ]
    return []
