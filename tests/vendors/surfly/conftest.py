"""Fixtures of the Surfly tests.

A faked Surfly (`mocked`, with `fake_api.on()`) and the rows the service and view
tests act on; and the sandbox reached over real HTTP (`seeded`, `surfly`, `api`…).
Tests using the sandbox need `pytest.mark.django_db(transaction=True,
databases="__all__")`: the sandbox lives in its own database alias and answers
from the live server's thread, so data must be committed to be seen.
"""

from __future__ import annotations

import time

import pytest
import requests
import responses

from cobrowse_portal.core.models import VendorAccount
from tests.conftest import sandbox_account
from vendors.surfly.client import SurflyClient
from vendors.surfly.models import SurflyAgent
from vendors.surfly.models import SurflyClient as SurflyClientRow
from vendors.surfly.sandbox.seed import CLIENT_KEY, RESELLER_KEY, seed

from .fake_api import AGENT, make_account

SANDBOX = pytest.mark.django_db(transaction=True, databases="__all__")
# History records of the reseller (plus 3 live sessions); small enough to seed
# per test, big enough for several history pages.
SEED_SIZE = 120


# --- a faked Surfly (`responses`) and local rows ------------------------------------
@pytest.fixture
def mocked():
    """Surfly faked with `responses`; every registered call must happen."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def account(reseller) -> VendorAccount:
    """The reseller's Surfly account, pointing at the faked API."""
    return make_account(reseller)


@pytest.fixture
def agent(account) -> SurflyAgent:
    """Agent 42 (Alice), free, as synced from `AGENT`."""
    return SurflyAgent.objects.create(
        account=account,
        external_id="42",
        name="Alice",
        email="alice@example.com",
        role="agent",
        available=True,
        is_free=True,
        raw=AGENT,
    )


@pytest.fixture
def client_row(account) -> SurflyClientRow:
    """The reseller's client company Globex (client key `ck-globex`)."""
    return SurflyClientRow.objects.create(
        account=account,
        external_id="ck-globex",
        company_name="Globex",
        plan="pro",
        agent_count=2,
        domains=["globex.test"],
        raw={"client_key": "ck-globex", "company_name": "Globex"},
    )


# --- the sandbox over real HTTP ------------------------------------------------------


def clear_of_window_edge(needed: float = 5.0, period: float = 60.0) -> None:
    """Wait if a fixed rate-limit window (per minute by default) would roll over
    within `needed` seconds, so a test's requests all land in one window."""
    into = time.time() % period
    if into > period - needed:
        time.sleep(period - into + 0.05)


@pytest.fixture
def seeded() -> str:
    return seed(size=SEED_SIZE, seed=1)


@pytest.fixture
def base_url(live_server) -> str:
    return f"{live_server.url}/sandbox/surfly/v2"


@pytest.fixture
def surfly(reseller, live_server, seeded) -> SurflyClient:
    """The real client on a sandbox account of the reseller workspace."""
    return SurflyClient.for_account(sandbox_account(reseller, live_server.url))


@pytest.fixture
def client_surfly(client_workspace, live_server, seeded) -> SurflyClient:
    """The real client with the reseller's client company's key (not a reseller)."""
    return SurflyClient.for_account(sandbox_account(client_workspace, live_server.url))


class Api:
    """Plain `requests` calls to the sandbox with an `api_key` (raw responses)."""

    def __init__(self, base_url: str, key: str | None = RESELLER_KEY) -> None:
        self.base_url, self.key = base_url, key

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):  # e.g. a `next` link
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def call(self, method: str, path: str, *, params=None, key=..., **kw):
        query = dict(params or {})
        key = self.key if key is ... else key
        if key is not None:
            query["api_key"] = key
        return requests.request(method, self.url(path), params=query, timeout=10, **kw)

    def get(self, path: str, **kw):
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.call("POST", path, **kw)

    def put(self, path: str, **kw):
        return self.call("PUT", path, **kw)

    def patch(self, path: str, **kw):
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw):
        return self.call("DELETE", path, **kw)


@pytest.fixture
def api(base_url, seeded) -> Api:
    """Raw HTTP as the reseller."""
    return Api(base_url, RESELLER_KEY)


@pytest.fixture
def client_api(base_url, seeded) -> Api:
    """Raw HTTP as the reseller's client company."""
    return Api(base_url, CLIENT_KEY)
