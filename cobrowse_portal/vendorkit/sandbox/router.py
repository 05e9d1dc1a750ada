"""Send every sandbox app's models to the `sandbox` database alias.

A sandbox app is the shared framework (label `sandbox`) or any app whose label
ends in `_sandbox` (e.g. `surfly_sandbox`). Portal data never lands there and
sandbox data never lands in the portal database.
"""

from __future__ import annotations

ALIAS = "sandbox"


def is_sandbox_app(app_label: str) -> bool:
    return app_label == "sandbox" or app_label.endswith("_sandbox")


class SandboxRouter:
    def db_for_read(self, model, **hints):
        return ALIAS if is_sandbox_app(model._meta.app_label) else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        a, b = (
            is_sandbox_app(obj1._meta.app_label),
            is_sandbox_app(obj2._meta.app_label),
        )
        return None if a == b else False

    def allow_migrate(self, db, app_label, **hints):
        return (db == ALIAS) == is_sandbox_app(app_label)
