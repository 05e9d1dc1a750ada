"""The outbound policy (server-side request forgery): https and public addresses
only, checked when connecting for every address a name resolves to, unless
VENDOR_ALLOWED_HOSTS names the host; no redirects; one "could not connect" message.

Real local listeners answer on 127.0.0.1. No test sends a packet off this machine:
`no_traffic_off_box` refuses any connect to a non-loopback address (and records every
attempt), so even the unfixed code cannot reach the public addresses faked below.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.urls import reverse

from cobrowse_portal.core.forms import VendorAccountForm
from cobrowse_portal.vendorkit import errors, outbound
from cobrowse_portal.vendorkit.http import build_session
from tests.core.conftest import make_account

from .conftest import DemoClient

INTERNAL_SECRET = "internal-secret-9f8e7d6c5b4a"
PUBLIC_IP = "93.184.216.34"  # never contacted: see no_traffic_off_box
_real_getaddrinfo = socket.getaddrinfo


# --- fixtures ---
class Listener:
    """A tiny HTTP server on 127.0.0.1 answering one fixed reply; records requests."""

    def __init__(self, status=200, body=INTERNAL_SECRET, headers=None) -> None:
        self.requests: list[str] = []
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                me.requests.append(self.path)
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def listeners():
    made: list[Listener] = []

    def make(**kw) -> Listener:
        made.append(Listener(**kw))
        return made[-1]

    yield make
    for listener in made:
        listener.close()


@pytest.fixture
def secret_server(listeners) -> Listener:
    """An internal service whose answer must never reach a page."""
    return listeners(status=500, body=f"{INTERNAL_SECRET} redis_version:7")


@pytest.fixture
def banner_port():
    """An open port that is not HTTP (think Redis): sends a banner, hangs up."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.sendall(f"-ERR {INTERNAL_SECRET}\r\n".encode())
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_traffic_off_box(monkeypatch) -> list:
    """Record every outgoing connect; refuse any that would leave this machine."""
    attempts: list = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempts.append(address)
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise ConnectionRefusedError("tests never leave the machine")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture
def fake_dns(monkeypatch):
    """`fake_dns({"name": [answer, answer, ...]})`: each answer is a list of IPs,
    used for successive look-ups (the last repeats); the port is the caller's unless
    an IP is written "ip#port"."""
    table: dict[str, list[list[str]]] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in table:
            return _real_getaddrinfo(host, port, family, type, proto, flags)
        lookups.append(host)
        answers = table[host]
        ips = answers.pop(0) if len(answers) > 1 else answers[0]
        out = []
        for entry in ips:
            ip, _, alt = entry.partition("#")
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            addr = (ip, int(alt or port)) + ((0, 0) if fam == socket.AF_INET6 else ())
            out.append((fam, socket.SOCK_STREAM, 6, "", addr))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def set_table(entries: dict[str, list[list[str]]]) -> list[str]:
        table.update(entries)
        return lookups

    return set_table


@pytest.fixture
def no_allow_list(settings):
    """Production's policy: nothing allow-listed (tests/settings.py allows loopback)."""
    settings.VENDOR_ALLOWED_HOSTS = []
    return settings


@pytest.fixture
def admin(personas, client):
    client.force_login(personas["admin"])
    return client


def probe_new(admin, base_url: str) -> str:
    """Test connection of a new account (form values) through the view."""
    data = {
        "vendor": "surfly",
        "name": "Probe",
        "base_url": base_url,
        "enabled": "on",
        "cred_api_key": "sfk-probe-key-000111",
    }
    response = admin.post(reverse("core:account_test_new"), data)
    assert response.status_code == 200
    return response.content.decode()


def probe_saved(admin, account) -> str:
    """Test connection of a saved account (e.g. one saved before the policy)."""
    response = admin.post(reverse("core:account_test", args=[account.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- IP classification ---
@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT / shared
        "0.0.0.0",
        "224.0.0.251",  # multicast
        "239.255.255.250",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "192.0.2.10",  # documentation
        "198.18.0.1",  # benchmarking
        "::",
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fe80::1%eth0",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "not an address",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert outbound.is_public_address(address) is False


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"],
)
def test_public_addresses_pass(address):
    assert outbound.is_public_address(address) is True


def test_allow_list_entries_name_a_host_or_a_host_and_port(settings):
    settings.VENDOR_ALLOWED_HOSTS = [
        "localhost",
        "127.0.0.1:8000",
        "OnPrem.Example.Internal.",
        "[::1]:9000",
        "http://sandbox.example:8080/ignored",
    ]
    assert outbound.host_allowed("localhost", 5555)
    assert outbound.host_allowed("127.0.0.1", 8000)
    assert not outbound.host_allowed("127.0.0.1", 8001)
    assert outbound.host_allowed("onprem.example.internal", 443)
    assert outbound.host_allowed("::1", 9000) and not outbound.host_allowed("::1", 80)
    assert outbound.host_allowed("sandbox.example", 8080)
    assert not outbound.host_allowed("other.example", 443)


# --- Test connection through the view: no internal answer ever reaches the page ---
def test_test_connection_to_an_internal_port_is_refused_and_shows_nothing(
    admin, no_allow_list, secret_server, no_traffic_off_box
):
    html = probe_new(admin, f"http://127.0.0.1:{secret_server.port}/")
    assert 'class="test fail"' in html
    assert "VENDOR_ALLOWED_HOSTS" in html
    assert INTERNAL_SECRET not in html and "redis_version" not in html
    assert secret_server.requests == [] and no_traffic_off_box == []


def test_a_saved_internal_base_url_is_refused_at_connect_time(
    admin, reseller, no_allow_list, secret_server, no_traffic_off_box
):
    """An account saved before the policy existed (or written around the form)."""
    account = make_account(reseller, "Old", base_url=f"{secret_server.url}/v2")
    html = probe_saved(admin, account)
    assert 'class="test fail"' in html and "VENDOR_ALLOWED_HOSTS" in html
    assert INTERNAL_SECRET not in html
    assert secret_server.requests == [] and no_traffic_off_box == []


def test_closed_and_open_internal_ports_read_the_same(
    admin, reseller, no_allow_list, secret_server, closed_port, banner_port
):
    pages = [
        probe_new(admin, f"http://127.0.0.1:{port}/v2")
        for port in (closed_port, secret_server.port, banner_port)
    ]
    assert (
        len(
            {
                p.replace(str(port), "PORT")
                for p, port in zip(
                    pages, (closed_port, secret_server.port, banner_port), strict=True
                )
            }
        )
        == 1
    ), pages
    saved = [
        probe_saved(
            admin,
            make_account(reseller, f"a{port}", base_url=f"http://127.0.0.1:{port}/v2"),
        )
        for port in (closed_port, secret_server.port, banner_port)
    ]
    assert (
        len(
            {
                p.replace(str(port), "PORT")
                for p, port in zip(
                    saved, (closed_port, secret_server.port, banner_port), strict=True
                )
            }
        )
        == 1
    ), saved


def test_even_an_allow_listed_host_never_tells_closed_from_open(
    admin, reseller, closed_port, banner_port, caplog
):
    """Loopback allowed (tests/settings.py): a refused port and an open non-HTTP port
    give one message, without library text; the cause is in the operators' log."""
    pages = []
    for port in (closed_port, banner_port):
        account = make_account(
            reseller, f"a{port}", base_url=f"http://127.0.0.1:{port}/v2"
        )
        pages.append(probe_saved(admin, account))
    assert pages[0] == pages[1], pages
    assert "could not connect to surfly" in pages[0]
    for leak in (
        str(closed_port),
        str(banner_port),
        "refused",
        "Max retries",
        INTERNAL_SECRET,
    ):
        assert leak not in pages[0]
    assert "failed" in caplog.text  # the detail is logged (redacted) for operators


def test_a_timeout_reads_like_a_refused_port(closed_port):
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(1)  # accepts (kernel backlog) and never answers
    try:
        messages = []
        for port in (closed_port, hang.getsockname()[1]):
            client = DemoClient(
                f"http://127.0.0.1:{port}",
                {"api_key": "k-123456"},
                session=build_session(timeout=(1.0, 0.3), retries=0),
            )
            with pytest.raises(errors.TransientVendorError) as info:
                client.get_json("things/")
            messages.append(info.value.user_message())
    finally:
        hang.close()
    assert messages[0] == messages[1]


def test_an_upstream_error_body_is_never_shown(admin, reseller, secret_server):
    """Allow-listed (loopback in tests) and answering 500 with a raw body: the page
    says the status, never the body."""
    account = make_account(reseller, "Internal", base_url=f"{secret_server.url}/v2")
    html = probe_saved(admin, account)
    assert secret_server.requests  # it was reached (allow-listed) ...
    assert INTERNAL_SECRET not in html and "redis_version" not in html  # ... not shown


# --- redirects ---
def test_a_redirect_to_an_internal_host_is_not_followed(
    admin, reseller, settings, listeners, secret_server
):
    target = f"{secret_server.url}/latest/meta-data/"
    hop = listeners(status=302, body="", headers={"Location": target})
    settings.VENDOR_ALLOWED_HOSTS = [f"127.0.0.1:{hop.port}"]
    account = make_account(reseller, "Hop", base_url=f"{hop.url}/v2")
    html = probe_saved(admin, account)
    assert hop.requests and secret_server.requests == []
    assert "redirect, which is not followed" in html
    assert INTERNAL_SECRET not in html


def test_no_redirect_is_followed_even_to_an_allowed_host(listeners, settings):
    landing = listeners(status=200, body='{"ok": true}')
    hop = listeners(status=301, body="", headers={"Location": f"{landing.url}/x"})
    client = DemoClient(hop.url, {"api_key": "k-123456"})
    with pytest.raises(errors.PermanentVendorError, match="not followed") as info:
        client.get_json("things/")
    assert not info.value.transient and info.value.status == 301
    assert landing.requests == []
    # The session itself never follows either (one place for every vendor).
    response = build_session().get(f"{hop.url}/y")
    assert response.status_code == 301 and landing.requests == []


# --- DNS: every address checked, at connect time ---
def test_a_name_resolving_to_a_private_address_is_refused_when_connecting(
    no_allow_list, fake_dns, secret_server, no_traffic_off_box
):
    fake_dns({"internal.example": [[f"127.0.0.1#{secret_server.port}"]]})
    client = DemoClient("https://internal.example/api", {"api_key": "k-123456"})
    with pytest.raises(errors.OutboundBlocked) as info:
        client.get_json("things/")
    assert not info.value.transient
    assert "VENDOR_ALLOWED_HOSTS" in info.value.user_message()
    assert no_traffic_off_box == [] and secret_server.requests == []


def test_every_resolved_address_is_checked(
    no_allow_list, fake_dns, secret_server, no_traffic_off_box
):
    """A public first answer does not let a private second one through."""
    fake_dns({"mixed.example": [[PUBLIC_IP, f"10.0.0.7#{secret_server.port}"]]})
    client = DemoClient("https://mixed.example/api", {"api_key": "k-123456"})
    with pytest.raises(errors.OutboundBlocked):
        client.get_json("things/")
    assert no_traffic_off_box == []  # refused before any connect, even the public one


def test_dns_rebinding_between_the_form_and_the_connection_is_caught(
    admin, no_allow_list, fake_dns, secret_server, no_traffic_off_box
):
    """The form's early check sees a public address; the connection sees loopback."""
    lookups = fake_dns(
        {"rebind.example": [[PUBLIC_IP], [f"127.0.0.1#{secret_server.port}"]]}
    )
    html = probe_new(admin, "https://rebind.example/v2")
    assert len(lookups) == 2  # form time, then connect time
    assert 'class="test fail"' in html
    assert "not public" in html and "VENDOR_ALLOWED_HOSTS" in html
    assert INTERNAL_SECRET not in html
    assert no_traffic_off_box == [] and secret_server.requests == []


def test_the_session_alone_applies_the_policy(
    no_allow_list, fake_dns, secret_server, no_traffic_off_box
):
    """Every vendor client builds on build_session: the guard is in the connection."""
    fake_dns({"internal.example": [[f"127.0.0.1#{secret_server.port}"]]})
    with pytest.raises(errors.OutboundBlocked):
        build_session(retries=0).get("https://internal.example/x")
    with pytest.raises(errors.OutboundBlocked):
        build_session(retries=0).get(f"http://127.0.0.1:{secret_server.port}/")
    assert no_traffic_off_box == [] and secret_server.requests == []


# --- scheme and the allow-list ---
def test_https_is_required_for_hosts_that_are_not_allow_listed(no_allow_list):
    with pytest.raises(errors.OutboundBlocked, match="https"):
        build_session(retries=0).get("http://vendor.example/api/")
    with pytest.raises(errors.OutboundBlocked, match="https"):
        outbound.check_url("ftp://vendor.example/api/")


def test_plain_http_is_allowed_for_a_vendor_whose_documented_root_is_http(
    no_allow_list, monkeypatch
):
    """Smartsupp's v1 API root is documented as http://api.smartsupp.com (its
    registered spec names it), and any registered vendor's http root is
    allowed the same way, on its own origin only."""
    import dataclasses

    from cobrowse_portal.vendorkit import registry

    assert registry.get("smartsupp").default_base_url == "http://api.smartsupp.com"
    outbound.check_url("http://api.smartsupp.com/accounts/")
    spec = dataclasses.replace(
        registry.get("surfly"),
        slug="legacychat",
        default_base_url="http://chat.legacy.example",
    )
    monkeypatch.setitem(registry._registry, "legacychat", spec)
    outbound.check_url("http://chat.legacy.example/v1/")
    outbound.check_url("http://api.smartsupp.com/v1/visitors")
    with pytest.raises(errors.OutboundBlocked, match="https"):
        outbound.check_url("http://api.smartsupp.com:8080/v1/")  # another origin
    with pytest.raises(errors.OutboundBlocked, match="https"):
        outbound.check_url("http://other.example/v1/")


def test_an_allow_listed_host_is_reached_over_http_on_its_port_only(
    settings, listeners
):
    ok = listeners(status=200, body='{"ok": true}')
    other = listeners(status=200, body='{"ok": true}')
    settings.VENDOR_ALLOWED_HOSTS = [f"127.0.0.1:{ok.port}"]
    assert DemoClient(ok.url, {"api_key": "k"}).get_json("things/") == {"ok": True}
    with pytest.raises(errors.OutboundBlocked):
        DemoClient(other.url, {"api_key": "k"}).get_json("things/")
    assert other.requests == []


def test_environment_proxies_are_ignored(monkeypatch, listeners, closed_port):
    """A proxy would resolve the name itself, out of the policy's reach."""
    ok = listeners(status=200, body='{"ok": true}')
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port}")
    assert DemoClient(ok.url, {"api_key": "k"}).get_json("things/") == {"ok": True}
    with pytest.raises(errors.OutboundBlocked, match="proxy"):
        build_session().get(
            f"{ok.url}/x", proxies={"http": f"http://127.0.0.1:{closed_port}"}
        )


def test_a_client_refuses_a_session_without_the_policy():
    with pytest.raises(TypeError, match="build_session"):
        DemoClient(
            "https://vendor.test/api", {"api_key": "k"}, session=requests.Session()
        )


def test_a_blocked_call_is_permanent_so_a_write_is_never_kept(no_allow_list):
    client = DemoClient("http://10.0.0.9/api", {"api_key": "k-123456"})
    with pytest.raises(errors.PermanentVendorError) as info:
        client.request("PUT", "things/1/", json={})
    assert isinstance(info.value, errors.OutboundBlocked)
    assert info.value.transient is False
    assert "ask the operator to add the host to VENDOR_ALLOWED_HOSTS" in str(info.value)


# --- the account form: early, friendly field errors on base_url ---
def form(base_url: str, workspace) -> VendorAccountForm:
    return VendorAccountForm(
        {
            "name": "Desk",
            "base_url": base_url,
            "enabled": "on",
            "cred_api_key": "sfk-form-key-000111",
        },
        vendor="surfly",
        workspace=workspace,
    )


@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("http://vendor.example/v2", "https"),
        ("https://127.0.0.1:6379/", "not a public address"),
        ("https://10.0.0.1/v2", "not a public address"),
        ("https://169.254.169.254/latest", "not a public address"),
        ("https://[::1]:8000/", "not a public address"),
        ("https://[::ffff:127.0.0.1]/", "not a public address"),
        ("https://private.example/v2", "not public"),
    ],
)
def test_the_form_refuses_a_base_url_outside_the_policy(
    base_url, words, reseller, no_allow_list, fake_dns, no_traffic_off_box
):
    fake_dns({"private.example": [["192.168.0.20"]]})
    f = form(base_url, reseller)
    assert not f.is_valid()
    message = " ".join(f.errors["base_url"])
    assert words in message and "VENDOR_ALLOWED_HOSTS" in message
    assert no_traffic_off_box == []


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("https://surfly.com/v2", []),
        ("https://app.surfly.com/v2", []),
        ("http://onprem.example.internal:8080/v2", ["onprem.example.internal"]),
        ("http://127.0.0.1:8000/sandbox/surfly/v2", ["127.0.0.1:8000"]),
    ],
)
def test_the_form_accepts_public_https_and_allow_listed_hosts(
    base_url, allowed, reseller, settings, fake_dns
):
    settings.VENDOR_ALLOWED_HOSTS = allowed
    fake_dns(
        {
            "surfly.com": [[PUBLIC_IP]],
            "app.surfly.com": [[PUBLIC_IP]],
            "onprem.example.internal": [["10.20.30.40"]],
        }
    )
    f = form(base_url, reseller)
    assert f.is_valid(), f.errors


def test_requests_errors_never_leak_library_text():
    """The message of a refused connection carries no host, port or urllib3 text."""
    exc = requests.ConnectionError(
        "HTTPConnectionPool(host='10.0.0.1', port=6379): Max retries exceeded"
    )
    client = DemoClient("https://vendor.test/api", {"api_key": "k-123456"})

    class Boom:
        headers: dict = {}

        def request(self, *a, **kw):
            raise exc

    client.session = Boom()
    with pytest.raises(errors.TransientVendorError) as info:
        client.get_json("things/")
    text = info.value.user_message()
    assert "6379" not in text and "HTTPConnectionPool" not in text


# --- the embedded default: the portal's own sandbox address; none in production ---
ALLOWED = [
    "-c",
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.VENDOR_ALLOWED_HOSTS)",
]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SANDBOX_ENABLED": "false"}, "[]"),
        ({"SANDBOX_ENABLED": "true"}, "['127.0.0.1:8000']"),  # SITE_URL's
        (
            {"SANDBOX_ENABLED": "true", "SANDBOX_ADDRESS": "127.0.0.1:8001"},
            "['127.0.0.1:8001']",  # make run PORT=8001
        ),
        (
            {"SANDBOX_ENABLED": "false", "VENDOR_ALLOWED_HOSTS": "onprem.internal,x:1"},
            "['onprem.internal', 'x:1']",
        ),
    ],
    ids=["production", "sandbox", "make-run-port", "operator"],
)
def test_the_default_allow_list(tmp_path, env, expected):
    from tests.core.test_settings import FERNET_KEY, STRONG_KEY, run_django

    values = {
        "SECRET_KEY": STRONG_KEY,
        "ENCRYPTION_KEYS": FERNET_KEY,
        "SITE_URL": "http://127.0.0.1:8000",
        "VENDOR_ALLOWED_HOSTS": "",
        **env,
    }
    result = run_django(ALLOWED, tmp_path, **values)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_private_ca_bundle_from_the_environment_is_still_used(monkeypatch):
    from cobrowse_portal.vendorkit.http import build_session

    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    assert build_session().verify is True
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/onprem-ca.pem")
    session = build_session()
    assert session.verify == "/etc/ssl/onprem-ca.pem"
    assert session.trust_env is False  # proxies and .netrc stay ignored
