"""Fixtures of the Serviceform tests: the sandbox over real HTTP, seeded once
per session (the same snapshot-and-restore scheme as the Upscope tests: the
live server sees committed rows only, so these tests are transactional on
every alias, and an emptied sandbox gets the seed back by one bulk insert per
table).
"""

from __future__ import annotations

import pytest

from vendors.serviceform.client import ServiceformClient
from vendors.serviceform.sandbox.models import Account, Chat, Item, Lead, Space
from vendors.serviceform.sandbox.seed import MAIN_KEY, MAIN_NAME, seed

#: Chats of the main account: many windows at the small limits the tests use.
SEED_SIZE = 400
PATH = "/sandbox/serviceform"
SANDBOX = pytest.mark.django_db(transaction=True, databases="__all__")
TABLES = (Account, Space, Item, Lead, Chat)  # in foreign-key order


@pytest.fixture(scope="session")
def _seed_snapshot(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        seed(size=SEED_SIZE, seed=1, reset=True)
        return {model: list(model.objects.order_by("pk")) for model in TABLES}


@pytest.fixture
def sandbox(_seed_snapshot, live_server) -> str:
    """The sandbox's API root, holding the session's seed."""
    if not Account.objects.filter(name=MAIN_NAME).exists():
        for model in reversed(TABLES):
            model.objects.all().delete()
        for model in TABLES:
            model.objects.bulk_create(_seed_snapshot[model], batch_size=2000)
    return f"{live_server.url}{PATH}"


def client_for(sandbox: str, key: str = MAIN_KEY) -> ServiceformClient:
    return ServiceformClient(sandbox, {"api_key": key})


@pytest.fixture
def api(sandbox) -> ServiceformClient:
    """The real client with the main seeded account's key."""
    return client_for(sandbox)


def main_chats():
    return Chat.objects.filter(account__api_key=MAIN_KEY)


def request_space() -> Space:
    """The main account's space with a field of every type."""
    return Space.objects.get(account__api_key=MAIN_KEY, name="Service requests")
