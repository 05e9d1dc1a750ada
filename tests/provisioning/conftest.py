"""Fixtures of the provisioning tests: every vendor sandbox over real HTTP,
seeded once per session (small seeds) and restored from a snapshot when a
transactional test emptied it, and a reseller workspace with an account at
each reseller-API sandbox. Steps run eagerly (the Celery task inline, after the
commit that queued it), which is how the engine behaves with a worker, minus
the wait."""

from __future__ import annotations

import pytest
from django.apps import apps

from cobrowse_portal.celery import app as celery_app
from cobrowse_portal.core.choices import Role
from tests.conftest import make_user, sandbox_account

SANDBOX = pytest.mark.django_db(transaction=True, databases="__all__")
#: vendor -> (sandbox app label, seed function path, size)
SEEDS = {
    "surfly": ("surfly_sandbox", "vendors.surfly.sandbox.seed.seed", 6),
    "samesurf": ("samesurf_sandbox", "vendors.samesurf.sandbox.seed.seed", 6),
    "smartsupp": ("smartsupp_sandbox", "vendors.smartsupp.sandbox.seed.seed", 2),
    "upscope": ("upscope_sandbox", "vendors.upscope.sandbox.seed.seed", 6),
}
RESELLER_VENDORS = ("surfly", "samesurf", "smartsupp")


def _models(label: str):
    return list(apps.get_app_config(label).get_models())  # definition = FK order


@pytest.fixture(scope="session")
def _sandbox_snapshot(django_db_setup, django_db_blocker) -> dict:
    from django.utils.module_loading import import_string

    out = {}
    with django_db_blocker.unblock():
        for label, seed, size in SEEDS.values():
            import_string(seed)(size=size, seed=1, reset=True)
            out[label] = {m: list(m.objects.order_by("pk")) for m in _models(label)}
    return out


@pytest.fixture
def sandboxes(_sandbox_snapshot, live_server) -> str:
    """The live server's root, every sandbox holding the session's seed."""
    for tables in _sandbox_snapshot.values():
        models = list(tables)
        if models[0].objects.exists():
            continue
        for model in reversed(models):
            model.objects.all().delete()
        for model in models:
            model.objects.bulk_create(tables[model], batch_size=2000)
    return live_server.url


@pytest.fixture
def eager(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


@pytest.fixture
def reseller_accounts(reseller, sandboxes) -> dict:
    """The reseller workspace's account at each reseller-API sandbox."""
    return {v: sandbox_account(reseller, sandboxes, vendor=v) for v in RESELLER_VENDORS}


@pytest.fixture
def ada(reseller):
    return make_user("ada", reseller, Role.ADMIN)


def client_fields(name: str = "Initrode", **extra) -> dict:
    return {
        "name": name,
        "domains": ["initrode.example"],
        "time_zone": "Europe/Amsterdam",
        "agent_name": "Ivy Init",
        "agent_email": "ivy@initrode.example",
        **extra,
    }


def choices(accounts: dict, *vendors: str, **options) -> dict:
    """The engine's vendor choices for `vendors`, with sensible options."""
    defaults = {
        "surfly": {"options": {"company_plan_name": "client_basic"}, "secrets": {}},
        "samesurf": {"options": {"license_count": 4}, "secrets": {}},
        "smartsupp": {
            "options": {"lang": "en", "role": "admin"},
            "secrets": {"password": "s3cret-Passw0rd"},
        },
    }
    out = {}
    for v in vendors:
        entry = dict(defaults.get(v, {"options": {}, "secrets": {}}))
        entry.update(options.get(v, {}))
        entry["account"] = accounts.get(v)
        out[v] = entry
    return out
