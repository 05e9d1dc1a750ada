"""Fixtures for tests that reach the Surfly sandbox over real HTTP.

Tests using them need `pytest.mark.django_db(transaction=True, databases="__all__")`:
the sandbox lives in its own database alias and answers from the live server's
thread, so data must be committed to be seen.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import sandbox_account
from vendors.surfly.client import SurflyClient
from vendors.surfly.sandbox.seed import CLIENT_KEY, RESELLER_KEY, seed

SANDBOX = pytest.mark.django_db(transaction=True, databases="__all__")
# History records of the reseller (plus 3 live sessions); small enough to seed
# per test, big enough for several history pages.
SEED_SIZE = 120


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
