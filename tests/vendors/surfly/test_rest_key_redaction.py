"""A reseller client's `rest_key` (a working Surfly API key for that client) never
reaches a log line, an error or a page: masked by its shape wherever Surfly's
field name is next to it, and by value once the portal has seen it."""

from __future__ import annotations

import io
import logging

import pytest
from django.urls import reverse

from cobrowse_portal.vendorkit import redaction
from cobrowse_portal.vendorkit.redaction import MASK, RedactingFilter, redact
from vendors.surfly import services
from vendors.surfly.models import SurflyClient

from .fake_api import on

REST_KEY = "rk-wayne-Zq81nB4v0Pc2Lx7"


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch):
    """Nothing registered yet: each test shows which net catches the key."""
    monkeypatch.setattr(redaction, "_known", set())


@pytest.fixture
def logged():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.rest_key")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.mark.parametrize(
    "text",
    [
        # Surfly's client listing, as a body excerpt or a dict in an error.
        f'[{{"company_name": "Wayne", "rest_key": "{REST_KEY}"}}]',
        f"unexpected record {{'client_key': 'ck-9', 'rest_key': '{REST_KEY}'}}",
        f"GET https://surfly.test/v2/sessions/?rest_key={REST_KEY}&x=1",
        f"rest-key: {REST_KEY}",
    ],
    ids=["json", "python-repr", "query", "header"],
)
def test_rest_key_shapes_are_masked_without_registration(text, logged):
    assert REST_KEY not in redact(text) and MASK in redact(text)
    logger, stream = logged
    logger.warning("Surfly answered %s", text)
    assert REST_KEY not in stream.getvalue() and MASK in stream.getvalue()


def test_a_new_clients_rest_key_is_masked_wherever_it_shows_up_later(
    personas, login, account, reseller, mocked, logged
):
    """Created through the portal: the answer's rest_key is registered, so it is
    masked even bare (no field name next to it), in logs and on pages."""
    on(
        mocked,
        "POST",
        "clients/all/",
        json={
            "company_name": "Wayne",
            "client_key": "ck-wayne",
            "rest_key": REST_KEY,
            "widget_key": "wk-wayne",
        },
    )
    services.create_client(
        account,
        company_name="Wayne",
        domains=["wayne.test"],
        agent_email="b@wayne.test",
        agent_name="Bruce",
        create_workspace=True,
        parent=reseller,
    )
    assert redact(f"key {REST_KEY} suspended") == f"key {MASK} suspended"
    logger, stream = logged
    try:
        raise RuntimeError(f"client workspace set-up failed for {REST_KEY}")
    except RuntimeError:
        logger.exception("provisioning Wayne")
    assert REST_KEY not in stream.getvalue()

    # Surfly later quotes the key, bare, in an error: the page shows it masked.
    row = SurflyClient.objects.get(account=account, external_id="ck-wayne")
    on(
        mocked,
        "PUT",
        "clients/all/ck-wayne/",
        status=400,
        json={"detail": f"Client {REST_KEY} is suspended."},
    )
    response = login(personas["manager"]).post(
        reverse("surfly:client_edit", args=[account.pk, row.pk]),
        {"company_name": "Wayne Enterprises"},
    )
    page = response.content.decode()
    assert response.status_code == 422 and "is suspended" in page
    assert REST_KEY not in page
