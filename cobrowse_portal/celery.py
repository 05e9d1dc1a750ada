"""The Celery app: configured from Django settings (CELERY_ namespace)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobrowse_portal.settings")

app = Celery("cobrowse_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    """Keep Django's LOGGING (with its redacting filter) in worker and beat."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
