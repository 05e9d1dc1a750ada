"""Fixtures of the SameSurf tests: the sandbox over real HTTP, seeded once per
session.

The sandbox answers from the live server's thread out of its own database
alias, so these tests are transactional on every alias (committed data is what
the server sees; SQLite's IMMEDIATE transactions would otherwise lock the
server out), and a transactional test empties the databases after it. The seed
is therefore built once per session and kept as a snapshot of rows; a test
whose sandbox was emptied gets the same rows back by one bulk insert per
table, which costs a small fraction of seeding.
"""

from __future__ import annotations

import pytest

from vendors.samesurf.client import SameSurfClient
from vendors.samesurf.sandbox.models import ApiKey, LimitedUseToken, Room, Subscription
from vendors.samesurf.sandbox.seed import (
    CLIENT_KEY,
    CLIENT_SECRET,
    RESELLER_KEY,
    RESELLER_NAME,
    RESELLER_SECRET,
    seed,
)

#: Past rooms of the reseller: several pages at the page sizes used here.
SEED_SIZE = 240
PATH = "/sandbox/samesurf/api/v3"
#: Mark every test module that reaches the sandbox with this.
SANDBOX = pytest.mark.django_db(transaction=True, databases="__all__")
TABLES = (Subscription, ApiKey, Room, LimitedUseToken)  # in foreign-key order


@pytest.fixture(scope="session")
def _seed_snapshot(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        seed(size=SEED_SIZE, seed=1, reset=True)
        return {
            model: list(model.objects.select_related().order_by("pk"))
            for model in TABLES
        }


@pytest.fixture
def sandbox(_seed_snapshot, live_server) -> str:
    """The sandbox's API root, holding the session's seed."""
    if not Subscription.objects.filter(name=RESELLER_NAME).exists():
        for model in TABLES:
            model.objects.all().delete()
        for model in TABLES:
            model.objects.bulk_create(_seed_snapshot[model], batch_size=2000)
    return f"{live_server.url}{PATH}"


@pytest.fixture
def reseller_api(sandbox) -> SameSurfClient:
    """The real client with the seeded reseller's key and secret."""
    return SameSurfClient(
        sandbox, {"api_key": RESELLER_KEY, "api_secret": RESELLER_SECRET}
    )


@pytest.fixture
def globex_api(sandbox) -> SameSurfClient:
    """The real client with Globex's key (a client subscription, not a reseller)."""
    return SameSurfClient(sandbox, {"api_key": CLIENT_KEY, "api_secret": CLIENT_SECRET})
