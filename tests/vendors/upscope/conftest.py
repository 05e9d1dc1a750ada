"""Fixtures of the Upscope tests: the sandbox over real HTTP, seeded once per
session (the same snapshot-and-restore scheme as the SameSurf tests: the live
server sees committed rows only, so these tests are transactional on every
alias, and an emptied sandbox gets the seed back by one bulk insert per table).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vendors.upscope.client import UpscopeClient
from vendors.upscope.sandbox.models import Account, Agent, CobrowsingSession, Visitor
from vendors.upscope.sandbox.seed import MAIN_KEY, MAIN_NAME, seed

#: Sessions of the main account: several pages of 100.
SEED_SIZE = 250
PATH = "/sandbox/upscope/v1.3"
SANDBOX = pytest.mark.django_db(transaction=True, databases="__all__")
TABLES = (Account, Visitor, Agent, CobrowsingSession)  # in foreign-key order


@pytest.fixture(scope="session")
def _seed_snapshot(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        seed(size=SEED_SIZE, seed=1, reset=True)
        return {model: list(model.objects.order_by("pk")) for model in TABLES}


@pytest.fixture
def sandbox(_seed_snapshot, live_server) -> str:
    """The sandbox's API root (…/v1.3), holding the session's seed."""
    if not Account.objects.filter(name=MAIN_NAME).exists():
        for model in reversed(TABLES):
            model.objects.all().delete()
        for model in TABLES:
            model.objects.bulk_create(_seed_snapshot[model], batch_size=2000)
    return f"{live_server.url}{PATH}"


def client_for(sandbox: str, key: str = MAIN_KEY) -> UpscopeClient:
    return UpscopeClient(sandbox, {"api_key": key})


@pytest.fixture
def api(sandbox) -> UpscopeClient:
    """The real client with the main seeded account's key."""
    return client_for(sandbox)


@pytest.fixture
def receiver():
    """A local HTTP server recording the JSON bodies POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            received.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(self.rfile.read(length) or b"null"),
                }
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address
    try:
        yield f"http://{host}:{port}/hooks/upscope/t0ken", received
    finally:
        server.shutdown()
        server.server_close()
