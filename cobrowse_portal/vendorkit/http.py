"""One HTTP session factory for every vendor.

Default (connect, read) timeouts on every call, a User-Agent, and urllib3 retries
with capped, jittered exponential backoff on connection errors, 429 and 5xx, for
idempotent methods only, honouring (a capped) `Retry-After`.

Every session applies the outbound policy (`vendorkit.outbound`): the URL is checked
before sending, the host's addresses when connecting, redirects are never followed,
and proxies from the environment are ignored (a proxy would resolve the name itself,
out of the policy's reach).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.util.retry import Retry

from . import outbound
from .errors import OutboundBlocked
from .ratelimit import record
from .redaction import redact

log = logging.getLogger("cobrowse.vendorkit.http")

USER_AGENT = "CobrowsePortal/0.1 (+https://github.com/cobrowse-portal)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: (connect, read) timeouts while a person waits for the answer (Test connection,
#: a write that is kept for a background retry if it fails).
QUICK_TIMEOUT = (3.05, 10.0)

_quick: ContextVar[bool] = ContextVar("vendorkit_quick_try", default=False)
#: The rate budget key (vendor and host) of the client call being sent, so the
#: retries urllib3 makes inside it are counted too (`ratelimit.record`).
budget_key: ContextVar[str | None] = ContextVar("vendorkit_budget_key", default=None)


@contextmanager
def one_quick_try() -> Iterator[None]:
    """Within it, sessions `build_session()` makes with default arguments send each
    call once (no urllib3 retries) with `QUICK_TIMEOUT`: for a person waiting on
    an answer whose failure is handled anyway (e.g. the write is kept and replayed
    in the background, where the normal retries apply)."""
    token = _quick.set(True)
    try:
        yield
    finally:
        _quick.reset(token)


def quick_try_active() -> bool:
    """Whether the caller is inside `one_quick_try()` (for clients that retry
    themselves, e.g. read operations sent as POST)."""
    return _quick.get()


class CappedRetry(Retry):
    """A Retry that never sleeps longer than `backoff_max`, even on `Retry-After`."""

    def get_retry_after(self, response):  # type: ignore[override]
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.backoff_max)

    def increment(self, method=None, url=None, response=None, error=None, *a, **kw):
        status = getattr(response, "status", None)
        log.info(
            "retrying %s %s after %s",
            method,
            redact(url or ""),
            status or type(error).__name__,
        )
        # Raises once the retries are used up: that last attempt is the
        # client's to count.
        retry = super().increment(method, url, response, error, *a, **kw)
        key = budget_key.get()
        if key is not None:
            # An attempt that is retried was sent: count it (and its 429) for the
            # rate budget; the client counts the final attempt.
            record(key, "requests")
            if status == 429:
                record(key, "throttled")
        return retry


class TimeoutAdapter(HTTPAdapter):
    """An adapter that fills in a default timeout when the caller gave none."""

    def __init__(self, *args, timeout: tuple[float, float], **kwargs) -> None:
        self.default_timeout = timeout
        super().__init__(*args, **kwargs)

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().send(request, **kwargs)


class OutboundAdapter(TimeoutAdapter):
    """TimeoutAdapter plus the outbound policy: the URL is checked before every
    send, and its pools' connections check each resolved address at connect time."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = outbound.POOL_CLASSES

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise OutboundBlocked("Vendor calls do not go through a proxy.")

    def send(self, request, **kwargs):  # type: ignore[override]
        outbound.check_url(request.url)
        if select_proxy(request.url, kwargs.get("proxies") or {}):
            raise OutboundBlocked("Vendor calls do not go through a proxy.")
        return super().send(request, **kwargs)


class VendorSession(requests.Session):
    """A session that never follows a redirect (a 3xx comes back as the answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # no proxies or .netrc credentials from the env
        # A private CA bundle (an on-premise vendor install) still counts: the
        # variables requests itself reads, which trust_env=False would drop.
        self.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        ) or True

    def send(self, request, **kwargs):  # type: ignore[override]
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


def build_retry(total: int | None = None, backoff_max: float | None = None) -> Retry:
    """The retry policy: idempotent methods, connect errors, 429 and 5xx."""
    total = settings.VENDOR_MAX_RETRIES if total is None else total
    return CappedRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.5,
        backoff_jitter=0.5,
        backoff_max=settings.VENDOR_BACKOFF_MAX if backoff_max is None else backoff_max,
        respect_retry_after_header=True,
        # Hand the last response back instead of raising, so the client maps
        # the vendor's own 429/5xx body onto our error taxonomy.
        raise_on_status=False,
        raise_on_redirect=False,
    )


def build_session(
    *,
    timeout: tuple[float, float] | None = None,
    retries: int | None = None,
    backoff_max: float | None = None,
) -> requests.Session:
    """A session with our timeouts, retry policy, User-Agent and outbound policy
    (one quick try, no retries, inside `one_quick_try()`)."""
    if _quick.get():
        timeout = timeout or QUICK_TIMEOUT
        retries = 0 if retries is None else retries
    timeout = timeout or (settings.VENDOR_CONNECT_TIMEOUT, settings.VENDOR_READ_TIMEOUT)
    adapter = OutboundAdapter(
        timeout=timeout, max_retries=build_retry(retries, backoff_max)
    )
    session = VendorSession()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    return session
