"""The outbound policy every vendor call goes through (no server-side request forgery).

- A base URL is `https`; plain `http` only for a vendor whose documented API root is
  http (the registry's `default_base_url`), or for a host in `VENDOR_ALLOWED_HOSTS`.
- Its host must resolve to public addresses only. The check happens AT CONNECT TIME,
  inside the urllib3 connection: the name is resolved once, every address it resolves
  to is checked, and the socket connects to one of those checked addresses (no DNS
  rebinding window). TLS still verifies the certificate for, and sends SNI with, the
  host name.
- `VENDOR_ALLOWED_HOSTS` is the operator's allow-list (sandboxes, on-premise
  installs): `host` (any port) or `host:port` (`[v6]:port`). A listed host may
  resolve to any address and may be reached over plain http.

A refusal raises `errors.OutboundBlocked` (permanent: never retried or kept).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from .errors import OutboundBlocked

log = logging.getLogger("cobrowse.vendorkit.outbound")

ALLOW_HINT = (
    "To reach a sandbox or an on-premise install, ask the operator to add the host "
    "to VENDOR_ALLOWED_HOSTS."
)
DEFAULT_PORTS = {"http": 80, "https": 443}

# Never a vendor, whatever `ipaddress` thinks is "global" in this Python version.
_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT / shared address space
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local (cloud metadata lives here)
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and broadcast
        "::/96",  # unspecified, loopback, IPv4-compatible
        "::ffff:0:0/96",  # IPv4-mapped (checked as IPv4 first)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address):
    """True only for a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])  # drop a v6 scope
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 spelling of an IPv4 address is judged as that IPv4 address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if ip.teredo:
            return False
    if any(ip in net for net in _BLOCKED if net.version == ip.version):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


# --- the operator's allow-list ---
def _normalise_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@lru_cache(maxsize=64)
def parse_allowed(entries: tuple[str, ...]) -> frozenset[tuple[str, int | None]]:
    """`("localhost", "127.0.0.1:8000", "[::1]:8000")` -> {(host, port or None)}."""
    parsed = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        if "://" in entry:  # tolerate a pasted URL
            entry = urlsplit(entry).netloc
        host, port = entry, None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            if rest.startswith(":") and rest[1:].isdigit():
                port = int(rest[1:])
        elif entry.count(":") == 1:
            name, _, digits = entry.partition(":")
            if digits.isdigit():
                host, port = name, int(digits)
        parsed.add((_normalise_host(host), port))
    return frozenset(parsed)


def host_allowed(host: str, port: int) -> bool:
    """Is `host:port` in `VENDOR_ALLOWED_HOSTS` (an entry without a port: any port)?"""
    allowed = parse_allowed(tuple(getattr(settings, "VENDOR_ALLOWED_HOSTS", ()) or ()))
    name = _normalise_host(host)
    return (name, None) in allowed or (name, port) in allowed


def documented_http_origins() -> frozenset[str]:
    """Origins of vendors whose documented API root is plain http (Smartsupp v1)."""
    from . import registry

    origins = set()
    for spec in registry.all_vendors():
        parts = urlsplit(spec.default_base_url)
        if parts.scheme == "http" and parts.hostname:
            origins.add(_origin(parts.scheme, parts.hostname, parts.port))
    return frozenset(origins)


def _origin(scheme: str, host: str, port: int | None) -> str:
    return f"{scheme}://{_normalise_host(host)}:{port or DEFAULT_PORTS[scheme]}"


# --- URL-level checks (the account form, and every request before it is sent) ---
def check_url(url: str) -> None:
    """Refuse a URL the policy forbids without resolving it (scheme, literal IPs)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundBlocked("The API root is not a valid URL.") from None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        raise OutboundBlocked("The API root must be an https:// URL with a host name.")
    port = port or DEFAULT_PORTS[scheme]
    if host_allowed(host, port):
        return
    try:
        literal = ipaddress.ip_address(_normalise_host(host).split("%", 1)[0])
    except ValueError:
        literal = None  # a name: resolved and checked when connecting
    if literal is not None and not is_public_address(literal):
        raise OutboundBlocked(
            f"{host} is not a public address; vendor calls only go to public "
            "addresses. " + ALLOW_HINT
        )
    if (
        scheme == "http"
        and _origin(scheme, host, port) not in documented_http_origins()
    ):
        raise OutboundBlocked(
            f"The API root must use https:// (plain http is refused for {host}). "
            + ALLOW_HINT
        )


def check_resolves_public(url: str) -> None:
    """A friendly early check for forms: refuse a name that resolves to a non-public
    address now. A name that does not resolve passes (the call fails later); the real
    guarantee is the check at connect time."""
    check_url(url)
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[scheme]
    if host_allowed(host, port):
        return
    try:
        resolve_public(host, port)
    except OSError:
        return


def resolve_public(host: str, port: int) -> list[tuple]:
    """getaddrinfo results for `host`, refusing if ANY address is not public."""
    infos = socket.getaddrinfo(
        _normalise_host(host), port, allowed_gai_family(), socket.SOCK_STREAM
    )
    refused = [info[4][0] for info in infos if not is_public_address(info[4][0])]
    if refused or not infos:
        log.warning(
            "outbound call to %s:%s refused: resolves to non-public %s",
            host,
            port,
            ", ".join(sorted(set(refused))),
        )
        raise OutboundBlocked(
            f"{host} resolves to an address that is not public; vendor calls only go "
            "to public addresses. " + ALLOW_HINT
        )
    return infos


# --- connect-time guarantee ---
def _connect(conn: HTTPConnection) -> socket.socket:
    """What urllib3's `_new_conn` does, but only to checked addresses."""
    host, port = conn._dns_host, conn.port
    try:
        if host_allowed(conn.host, port):
            infos = socket.getaddrinfo(
                _normalise_host(host), port, allowed_gai_family(), socket.SOCK_STREAM
            )
        else:
            infos = resolve_public(host, port)
        sock = _connect_first(infos, conn)
    except socket.gaierror as e:
        raise NameResolutionError(conn.host, conn, e) from e
    except TimeoutError as e:
        raise ConnectTimeoutError(
            conn,
            f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})",
        ) from e
    except OSError as e:
        raise NewConnectionError(
            conn, f"Failed to establish a new connection: {e}"
        ) from e
    sys.audit("http.client.connect", conn, conn.host, conn.port)
    return sock


def _connect_first(infos: list[tuple], conn: HTTPConnection) -> socket.socket:
    err: OSError | None = None
    for af, socktype, proto, _canon, sockaddr in infos:
        sock = None
        try:
            sock = socket.socket(af, socktype, proto)
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if conn.timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(conn.timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            err = exc
            if sock is not None:
                sock.close()
    raise err or OSError("getaddrinfo returned an empty list")


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect(self)


class GuardedHTTPSConnection(HTTPSConnection):
    # connect() wraps our socket with server_hostname=self.host: SNI and the
    # certificate check stay on the host name, not the checked address.
    def _new_conn(self) -> socket.socket:
        return _connect(self)


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


POOL_CLASSES = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}
