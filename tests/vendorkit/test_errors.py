"""HTTP status -> error class, with the vendor's own code and message carried."""

from __future__ import annotations

import pytest
import responses
from django.test import override_settings

from cobrowse_portal.vendorkit import errors
from vendors.surfly.client import SurflyClient

from .conftest import BASE, DemoClient

URL = f"{BASE}/things/"


@pytest.fixture(autouse=True)
def _no_retries():
    with override_settings(VENDOR_MAX_RETRIES=0):
        yield


def call(status, *, client=None, **kw):
    client = client or DemoClient(BASE, {"api_key": "demo-key-0123456789"})
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, URL, status=status, **kw)
        client.get_json("things/")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.PermanentVendorError),
        (401, errors.AuthError),
        (403, errors.AuthError),
        (404, errors.NotFound),
        (408, errors.TransientVendorError),
        (409, errors.PermanentVendorError),
        (422, errors.PermanentVendorError),
        (429, errors.RateLimited),
        (500, errors.TransientVendorError),
        (502, errors.TransientVendorError),
        (503, errors.TransientVendorError),
    ],
)
def test_status_maps_to_an_error_class(status, cls):
    with pytest.raises(cls) as info:
        call(status, json={})
    exc = info.value
    assert type(exc) is cls  # exactly that class, not a broader one
    assert exc.status == status
    assert str(exc) == f"demo answered {status}"
    assert exc.transient == (cls in (errors.TransientVendorError, errors.RateLimited))


def test_vendor_code_and_message_are_carried():
    with pytest.raises(errors.PermanentVendorError) as info:
        call(400, json={"code": "E_SEATS", "message": "No seats left on this plan"})
    exc = info.value
    assert exc.vendor_code == "E_SEATS"
    assert exc.vendor_message == "No seats left on this plan"
    assert exc.user_message() == "No seats left on this plan"
    assert str(exc) == "demo answered 400: No seats left on this plan"


def test_without_a_vendor_message_the_user_sees_the_status():
    with pytest.raises(errors.NotFound) as info:
        call(404, body="")
    assert info.value.user_message() == "demo answered 404"


def test_rate_limited_carries_retry_after():
    with pytest.raises(errors.RateLimited) as info:
        call(429, json={"detail": "slow down"}, headers={"Retry-After": "17"})
    assert info.value.retry_after == 17.0
    with pytest.raises(errors.RateLimited) as info:
        call(429, json={}, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert info.value.retry_after is None  # a date we do not guess at


def test_messages_are_redacted():
    with pytest.raises(errors.AuthError) as info:
        call(401, json={"detail": "bad key at /things/?api_key=leaky-value-999"})
    assert "leaky-value-999" not in str(info.value)
    assert "leaky-value-999" not in info.value.user_message()


def test_malformed_2xx_is_transient():
    with pytest.raises(errors.MalformedResponse) as info:
        call(200, body="<html>maintenance</html>")
    assert info.value.transient


def test_error_hierarchy():
    assert issubclass(errors.QuotaExceeded, errors.PermanentVendorError)
    assert issubclass(errors.MalformedResponse, errors.TransientVendorError)
    assert issubclass(errors.RateLimited, errors.TransientVendorError)
    for cls in (errors.AuthError, errors.NotFound, errors.PermanentVendorError):
        assert not cls.transient


# --- Surfly's own error bodies --------------------------------------------------------
def surfly():
    return SurflyClient(BASE, {"api_key": "surfly-key-0123456789"})


def test_surfly_errors_body_is_read_field_by_field():
    with pytest.raises(errors.NotFound) as info:
        call(
            404,
            client=surfly(),
            json={
                "errors": {
                    "agent_id": ["Agent was not found"],
                    "email": "Enter a valid email.",
                }
            },
        )
    exc = info.value
    assert exc.field_errors == {
        "agent_id": ["Agent was not found"],
        "email": ["Enter a valid email."],
    }
    assert exc.user_message() == "Agent was not found; Enter a valid email."


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"json": {"detail": "Invalid API key."}}, "Invalid API key."),
        # A raw body is never shown, even short plain text: it may be anything.
        ({"body": "Plan limit reached"}, None),
        ({"body": "<html><h1>Server Error</h1></html>"}, None),  # not shown to users
        ({"json": ["unexpected", "list"]}, None),
    ],
    ids=["drf-detail", "plain-text", "html", "list"],
)
def test_surfly_other_error_bodies(kw, message):
    with pytest.raises(errors.PermanentVendorError) as info:
        call(400, client=surfly(), **kw)
    assert info.value.vendor_message == message
    assert info.value.user_message() == (message or "surfly answered 400")
