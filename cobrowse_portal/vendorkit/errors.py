"""The error taxonomy every vendor client raises.

Each error carries the vendor's own code and message (already redacted), the HTTP
status, and whether retrying later can help (`transient`).
"""

from __future__ import annotations


class VendorError(Exception):
    """Base class: something went wrong talking to a vendor."""

    transient = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        vendor_code: str | int | None = None,
        vendor_message: str | None = None,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        from .redaction import redact

        self.message = redact(message)
        self.status = status
        self.vendor_code = vendor_code
        self.vendor_message = redact(vendor_message) if vendor_message else None
        self.field_errors = field_errors or {}
        super().__init__(self.message)

    def user_message(self) -> str:
        """What to show a person: the vendor's own words when it gave any."""
        return self.vendor_message or self.message


class AuthError(VendorError):
    """Credentials rejected (401/403): the account needs attention."""


class NotFound(VendorError):
    """The vendor has no such object (404)."""


class PermanentVendorError(VendorError):
    """The vendor refused the request; retrying the same request will not help."""


class OutboundBlocked(PermanentVendorError):
    """The outbound policy refused the address (scheme, private or reserved IP).

    Permanent: retrying, or keeping the write for later, cannot help until an
    operator changes the policy (`VENDOR_ALLOWED_HOSTS`) or an admin the API root.
    """


class QuotaExceeded(PermanentVendorError):
    """A plan limit (seats, clients, API access) was reached."""


class TransientVendorError(VendorError):
    """Network trouble, 5xx, a timeout or a garbled body: retry later."""

    transient = True


class MalformedResponse(TransientVendorError):
    """The vendor answered 2xx with a body we cannot parse."""


class RateLimited(TransientVendorError):
    """429 or our own shared budget is empty; `retry_after` says when to come back."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
