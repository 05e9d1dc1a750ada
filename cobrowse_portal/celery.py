"""The Celery app: configured from Django settings (CELERY_ namespace)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import setup_logging, worker_ready

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


def warm_up() -> None:
    """What the first task would otherwise pay: the URLconf, loaded and its
    reverse table built (every urls and views module imported; about half a
    second), which the first batch of an indexed sync needs for its links, and
    each vendor's client class imported."""
    from django.urls import get_resolver

    from cobrowse_portal.vendorkit import registry

    get_resolver().reverse_dict  # noqa: B018 - the property builds the table
    for spec in registry.all_vendors():
        spec.client_cls  # noqa: B018 - imports the vendor's client module


@worker_ready.connect
def _warm_up(**kwargs) -> None:
    warm_up()
