"""Fixtures of the Smartsupp tests: the sandbox over real HTTP, seeded once per
session (the Upscope tests' snapshot-and-restore scheme: the live server sees
committed rows only, so these tests are transactional on every alias, and an
emptied sandbox gets the seed back by one bulk insert per table).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vendors.smartsupp.client import SmartsuppClient
from vendors.smartsupp.sandbox.models import (
    Account,
    ApiKey,
    OfficeHours,
    Sequence,
    Trigger,
    User,
)
from vendors.smartsupp.sandbox.seed import MAIN_NAME, RESELLER_KEY, seed

#: Accounts of the reseller key.
SEED_SIZE = 6
PATH = "/sandbox/smartsupp"
SANDBOX = pytest.mark.django_db(transaction=True, databases="__all__")
TABLES = (Sequence, ApiKey, Account, User, Trigger, OfficeHours)  # FK order


@pytest.fixture(scope="session")
def _seed_snapshot(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        seed(size=SEED_SIZE, seed=1, reset=True)
        return {model: list(model.objects.order_by("pk")) for model in TABLES}


@pytest.fixture
def sandbox(_seed_snapshot, live_server) -> str:
    """The sandbox's API root, holding the session's seed."""
    if not Account.objects.filter(title=MAIN_NAME).exists():
        for model in reversed(TABLES):
            model.objects.all().delete()
        for model in TABLES:
            model.objects.bulk_create(_seed_snapshot[model], batch_size=2000)
    return f"{live_server.url}{PATH}"


def client_for(sandbox: str, key: str = RESELLER_KEY) -> SmartsuppClient:
    return SmartsuppClient(sandbox, {"api_key": key})


@pytest.fixture
def api(sandbox) -> SmartsuppClient:
    """The real client with the reseller key."""
    return client_for(sandbox)


@pytest.fixture
def main_id(sandbox) -> str:
    """The API id of the reseller's first account (Acme Support)."""
    return str(Account.objects.get(title=MAIN_NAME).number)


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
        yield f"http://{host}:{port}/hooks/41/t0ken/", received
    finally:
        server.shutdown()
        server.server_close()
