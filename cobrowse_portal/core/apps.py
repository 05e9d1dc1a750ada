from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cobrowse_portal.core"
    label = "core"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks, search, signals  # noqa: F401

        # SQLite drops a table's triggers when a migration remakes it: restore
        # the text index's (core/search.py).
        post_migrate.connect(search.ensure_sqlite_index, sender=self)
