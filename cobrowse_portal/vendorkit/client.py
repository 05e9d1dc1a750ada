"""BaseVendorClient: what every vendor client shares.

A vendor client subclasses it and supplies only what is truly the vendor's: how
credentials travel (`authenticate`), how its error bodies read (`parse_error`),
its endpoints, and its cheapest authenticated call (`check_connection`).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import orjson
import requests
from django.conf import settings

from . import errors
from .http import VendorSession, budget_key, build_session
from .ratelimit import Rate, TokenBucket, record
from .redaction import redact, register_secret

log = logging.getLogger("cobrowse.vendorkit.client")


class BaseVendorClient:
    vendor: ClassVar[str] = ""
    #: Proactive shared budget (e.g. "100/m"); VENDOR_RATE_LIMITS overrides it.
    rate_limit: ClassVar[str | None] = None
    #: Query parameters that carry credentials and must never be stored or logged.
    auth_params: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        base_url: str,
        credentials: dict[str, str],
        *,
        session: requests.Session | None = None,
        account_id: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.credentials = credentials
        for value in credentials.values():
            register_secret(value)
        if session is not None and not isinstance(session, VendorSession):
            # A plain requests.Session would bypass the outbound policy.
            raise TypeError("vendor clients take a session from build_session()")
        self.session = session or build_session()
        self.account_id = account_id
        self.requests_made = 0
        #: The rate budget's key (vendor and host), counted with or without a bucket.
        self.budget_key = f"{self.vendor}:{urlsplit(self.base_url).netloc}"
        self.limiter = self._build_limiter()

    @classmethod
    def for_account(cls, account) -> BaseVendorClient:
        """A client for a `core.VendorAccount` (sandbox or live: same code path)."""
        return cls(account.base_url, account.credentials, account_id=account.pk)

    # --- hooks for vendor clients -----------------------------------------------
    def authenticate(self, params: dict, headers: dict) -> None:
        """Add credentials to an outgoing request (query parameter or header)."""

    def parse_error(self, response: requests.Response) -> tuple[Any, str | None, dict]:
        """Return (vendor code, vendor message, field errors) from an error body."""
        try:
            body = response.json()
        except ValueError:
            return None, None, {}
        if not isinstance(body, dict):
            return None, None, {}
        message = body.get("message") or body.get("error") or body.get("detail")
        return body.get("code"), str(message) if message else None, {}

    def check_connection(self) -> str:
        """Call the cheapest authenticated endpoint; return a short success text."""
        raise NotImplementedError

    def unreachable_message(self) -> str:
        """The one message for every failure to get an answer (never library text)."""
        return (
            f"could not connect to {self.vendor}: no answer from the API root; "
            "check it, or try again later"
        )

    # --- plumbing ----------------------------------------------------------------
    def _build_limiter(self) -> TokenBucket | None:
        configured = settings.VENDOR_RATE_LIMITS.get(self.vendor, self.rate_limit)
        rate = Rate.parse(configured)
        if rate is None:
            return None
        # Limits are per egress IP, so the bucket is per vendor host, not per account.
        return TokenBucket(f"{self.vendor}:{urlsplit(self.base_url).netloc}", rate)

    def url(self, path: str) -> str:
        """Absolute URL for `path`; an absolute URL must stay on the vendor's origin."""
        if path.startswith(("http://", "https://")):
            base, target = urlsplit(self.base_url), urlsplit(path)
            if (base.scheme, base.netloc) != (target.scheme, target.netloc):
                raise errors.PermanentVendorError(
                    f"{self.vendor} pointed us at another host ({target.netloc}); "
                    "refusing to send credentials there"
                )
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def strip_auth(self, url: str) -> str:
        """`url` without the credential query parameters (safe to store)."""
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in self.auth_params]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        headers: dict | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        """Send one call; map failures onto the vendorkit errors."""
        url = self.strip_auth(self.url(path))
        params = {k: v for k, v in (params or {}).items() if v is not None}
        headers = dict(headers or {})
        self.authenticate(params, headers)
        if self.limiter:
            self.limiter.acquire()
        counting = budget_key.set(self.budget_key)  # urllib3's retries count too
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=headers, timeout=timeout
            )
        except errors.VendorError:  # the outbound policy refused the address
            self.requests_made += 1
            raise
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
        ):
            self.requests_made += 1
            raise errors.PermanentVendorError(
                f"The {self.vendor} API root is not a valid URL."
            ) from None
        except requests.exceptions.InvalidJSONError:
            # Nothing was sent (e.g. NaN in a body): our refusal, not an outage,
            # so it is never kept for a retry.
            raise errors.PermanentVendorError(
                f"This cannot be sent to {self.vendor}: the values are not valid "
                "JSON (NaN or Infinity?)."
            ) from None
        except requests.RequestException as exc:
            # Refused port, DNS failure, TLS error, timeout, dropped connection: one
            # message for all, so a page never tells a closed port from an open one.
            # The cause goes to the operators' log only.
            self.requests_made += 1
            record(self.budget_key, "requests")
            log.warning(
                "%s %s failed: %s: %s",
                method,
                redact(url),
                type(exc).__name__,
                redact(exc),
            )
            raise errors.TransientVendorError(self.unreachable_message()) from None
        finally:
            budget_key.reset(counting)
        retries = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        self.requests_made += 1 + len(retries)
        self._count_budget(response)
        log.debug("%s %s -> %s", method, redact(response.url), response.status_code)
        if 300 <= response.status_code < 400:
            log.warning(
                "%s %s answered %s to %s (not followed)",
                method,
                redact(response.url),
                response.status_code,
                redact(response.headers.get("Location", "")),
            )
            raise errors.PermanentVendorError(
                f"{self.vendor} answered with a redirect, which is not followed; "
                "check the API root",
                status=response.status_code,
            )
        if response.status_code >= 400:
            self.raise_for_response(response)
        return response

    def _count_budget(self, response: requests.Response) -> None:
        """The rate budget's counters for a call's final attempt (the retries
        before it are counted by `http.CappedRetry`, which sees each): one cache
        `incr`, two when the vendor throttled."""
        record(self.budget_key, "requests")
        if response.status_code == 429:
            record(self.budget_key, "throttled")

    def decode(self, response: requests.Response) -> Any:
        """The JSON body, or MalformedResponse (a 2xx we cannot read is transient)."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise errors.MalformedResponse(
                f"{self.vendor} answered {response.status_code} with a body that is "
                "not JSON"
            ) from None

    def request_json(self, method: str, path: str, **kwargs) -> Any:
        return self.decode(self.request(method, path, **kwargs))

    def get_json(self, path: str, params: dict | None = None, **kwargs) -> Any:
        return self.request_json("GET", path, params=params, **kwargs)

    def raise_for_response(self, response: requests.Response) -> None:
        """Map an HTTP error onto the taxonomy, with the vendor's code and message."""
        status = response.status_code
        code, message, fields = self.parse_error(response)
        # Only parsed message fields reach a page, and only so much of them.
        if isinstance(code, str):
            code = cap(code, 40)
        elif not isinstance(code, int):
            code = None
        message = cap(message) if message else None
        fields = {
            cap(str(k), 80): [cap(m) for m in (v if isinstance(v, list) else [v])][:10]
            for k, v in list((fields or {}).items())[:20]
        }
        label = f"{self.vendor} answered {status}"
        detail = f"{label}: {message}" if message else label
        kw = dict(
            status=status, vendor_code=code, vendor_message=message, field_errors=fields
        )
        if status in (401, 403):
            raise errors.AuthError(detail, **kw)
        if status == 404:
            raise errors.NotFound(detail, **kw)
        if status == 429:
            retry_after = _retry_after(response)
            raise errors.RateLimited(detail, retry_after=retry_after, **kw)
        if status >= 500 or status == 408:
            raise errors.TransientVendorError(detail, **kw)
        raise errors.PermanentVendorError(detail, **kw)


MAX_MESSAGE = 300


def cap(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line, at most `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
