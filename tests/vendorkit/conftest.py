"""vendorkit fixtures: a small vendor client, and a scripted local HTTP server for
what `responses` cannot show (real retries, sleeps, timeouts, dropped connections)."""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cobrowse_portal.vendorkit.client import BaseVendorClient

BASE = "https://vendor.test/api"
_real_sleep = time.sleep  # the `sleeps` fixture patches time.sleep process-wide


class DemoClient(BaseVendorClient):
    """A vendor whose key travels as `api_key` in the query, like Surfly's."""

    vendor = "demo"
    auth_params = ("api_key",)

    def authenticate(self, params: dict, headers: dict) -> None:
        params["api_key"] = self.credentials.get("api_key", "")

    def check_connection(self) -> str:
        self.get_json("me/")
        return "ok"


@pytest.fixture
def demo_client():
    return DemoClient(BASE, {"api_key": "demo-key-0123456789"})


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that gave up (read timeout) leaves a broken pipe behind: expected.
        pass


class ScriptedServer:
    """Answers each request with the next scripted `Reply` (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[tuple[str, str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                server.requests.append((self.command, self.path, dict(self.headers)))
                reply = (
                    server.replies.popleft()
                    if len(server.replies) > 1
                    else (server.replies[0] if server.replies else Reply())
                )
                if reply.delay:
                    _real_sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def script(self, *replies: Reply) -> None:
        self.replies = deque(replies)
        self.requests.clear()


@pytest.fixture
def server():
    srv = ScriptedServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Record urllib3's retry sleeps instead of sleeping."""
    import urllib3.util.retry

    calls: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", calls.append)
    return calls


@pytest.fixture
def account(db):
    from cobrowse_portal.core.models import VendorAccount, Workspace

    workspace = Workspace.objects.create(name="Kit", slug="kit")
    acc = VendorAccount(
        workspace=workspace,
        vendor="surfly",
        name="Kit desk",
        base_url="https://surfly.test/v2",
    )
    acc.set_credentials({"api_key": "kit-key-0123456789"})
    acc.save()
    return acc


@pytest.fixture
def other_account(account):
    from cobrowse_portal.core.models import VendorAccount

    acc = VendorAccount(
        workspace=account.workspace,
        vendor="surfly",
        name="Kit desk 2",
        base_url="https://surfly.test/v2",
    )
    acc.set_credentials({"api_key": "kit-key-9876543210"})
    acc.save()
    return acc
