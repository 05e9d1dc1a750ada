"""Vendor credentials: encrypted at rest, rotatable, write-only in forms, and never
in a page, the Django admin, a log line, a run's error or an account's status."""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests
import responses
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from cobrowse_portal.core.choices import AccountStatus, Trigger
from cobrowse_portal.core.forms import MASK
from cobrowse_portal.core.models import SyncRun, VendorAccount
from cobrowse_portal.vendorkit import client as vk_client
from cobrowse_portal.vendorkit import http as vk_http
from cobrowse_portal.vendorkit import redaction
from cobrowse_portal.vendorkit import runs as vk_runs
from cobrowse_portal.vendorkit.runs import execute_stream

from .conftest import SECRET, SURFLY_URL, make_account
from .urlwalk import all_pages, body, get_allowed, url_for

OPTIONS_URL = f"{SURFLY_URL}/company/options/"


def raw_columns(account_id: int) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_vendoraccount WHERE id = %s", [account_id])
        return list(cursor.fetchone())


def stored_token(account_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials_encrypted FROM core_vendoraccount WHERE id = %s",
            [account_id],
        )
        return cursor.fetchone()[0]


def assert_not_in_clear(account_id: int, secret: str) -> None:
    for value in raw_columns(account_id):
        assert secret not in str(value), "a credential is stored in plain text"


# --- at rest --------------------------------------------------------------------------
def test_credentials_are_encrypted_at_rest(reseller):
    account = make_account(reseller, "Desk")
    assert_not_in_clear(account.pk, SECRET)
    token = stored_token(account.pk)
    key = settings.ENCRYPTION_KEYS[0].encode()
    assert json.loads(Fernet(key).decrypt(token.encode())) == {"api_key": SECRET}
    assert VendorAccount.objects.get(pk=account.pk).credentials == {"api_key": SECRET}


def test_the_at_rest_check_catches_a_plain_text_column(reseller):
    account = make_account(reseller, "Desk")
    VendorAccount.objects.filter(pk=account.pk).update(
        credentials_encrypted=json.dumps({"api_key": SECRET})
    )
    with pytest.raises(AssertionError, match="plain text"):
        assert_not_in_clear(account.pk, SECRET)


def test_key_rotation_keeps_credentials_readable_with_only_the_new_key(reseller):
    old = list(settings.ENCRYPTION_KEYS)
    new = Fernet.generate_key().decode()
    accounts = [
        make_account(reseller, f"Desk {i}", key=f"{SECRET}-{i}") for i in range(3)
    ]
    before = {a.pk: stored_token(a.pk) for a in accounts}

    with override_settings(ENCRYPTION_KEYS=[new]), pytest.raises(ImproperlyConfigured):
        VendorAccount.objects.get(pk=accounts[0].pk).credentials  # noqa: B018

    with override_settings(ENCRYPTION_KEYS=[new, *old]):
        out = io.StringIO()
        call_command("rotate_encryption_keys", stdout=out)
        assert "re-encrypted 3 accounts" in out.getvalue()

    for i, account in enumerate(accounts):
        assert stored_token(account.pk) != before[account.pk]
        assert_not_in_clear(account.pk, SECRET)
        with override_settings(ENCRYPTION_KEYS=[new]):
            fresh = VendorAccount.objects.get(pk=account.pk)
            assert fresh.credentials == {"api_key": f"{SECRET}-{i}"}
        with (
            override_settings(ENCRYPTION_KEYS=old),
            pytest.raises(ImproperlyConfigured),
        ):
            VendorAccount.objects.get(pk=account.pk).credentials  # noqa: B018


# --- write-only form ------------------------------------------------------------------
def test_edit_page_never_renders_the_stored_secret(portal, client):
    client.force_login(portal.personas["admin"])
    url = reverse("core:account_edit", kwargs={"account_id": portal.account.pk})
    page = client.get(url).content.decode()
    assert SECRET not in page
    assert stored_token(portal.account.pk) not in page
    assert MASK in page and "blank keeps it" in page
    # A failed submit with a new key typed in must not echo it back either.
    typed = "sfk-typed-but-form-invalid-123456"
    page = client.post(
        url, {"name": "", "base_url": SURFLY_URL, "cred_api_key": typed}
    ).content.decode()
    assert "This field is required" in page
    assert typed not in page and SECRET not in page


def test_blank_secret_keeps_the_stored_one(portal, client):
    client.force_login(portal.personas["admin"])
    token = stored_token(portal.account.pk)
    url = reverse("core:account_edit", kwargs={"account_id": portal.account.pk})
    response = client.post(
        url,
        {
            "name": "Renamed desk",
            "base_url": SURFLY_URL,
            "enabled": "on",
            "cred_api_key": "",
        },
    )
    assert response.status_code == 302
    account = VendorAccount.objects.get(pk=portal.account.pk)
    assert account.name == "Renamed desk"
    assert account.credentials == {"api_key": SECRET}
    assert stored_token(account.pk) == token  # not even re-encrypted


def test_new_secret_replaces_it_and_clears_needs_attention(portal, client):
    VendorAccount.objects.filter(pk=portal.account.pk).update(
        status=AccountStatus.NEEDS_ATTENTION, status_message="surfly answered 401"
    )
    client.force_login(portal.personas["admin"])
    url = reverse("core:account_edit", kwargs={"account_id": portal.account.pk})
    response = client.post(
        url,
        {
            "name": portal.account.name,
            "base_url": SURFLY_URL,
            "enabled": "on",
            "cred_api_key": "  sfk-new-key-42  ",
        },
    )
    assert response.status_code == 302
    account = VendorAccount.objects.get(pk=portal.account.pk)
    assert account.credentials == {"api_key": "sfk-new-key-42"}
    assert account.status == AccountStatus.NEW and account.status_message == ""
    assert account.credentials_changed_at is not None
    assert_not_in_clear(account.pk, "sfk-new-key-42")


# --- Django admin ---------------------------------------------------------------------
def test_django_admin_never_shows_credentials(portal, client):
    client.force_login(portal.superuser)
    token = stored_token(portal.account.pk)
    for url in (
        reverse("admin:core_vendoraccount_change", args=[portal.account.pk]),
        reverse("admin:core_vendoraccount_changelist"),
        reverse("admin:core_vendoraccount_add"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert SECRET not in body and token not in body, url
        assert "credentials_encrypted" not in body, url


# --- every portal page ----------------------------------------------------------------
def test_no_portal_page_shows_a_secret(portal, client, no_network):
    token = stored_token(portal.account.pk)
    checked = 0
    for who in ("admin", "manager", "agent"):
        client.force_login(portal.personas[who])
        for page in all_pages():
            if not get_allowed(page) or page.name.startswith("admin:"):
                continue
            url, _ = url_for(page, portal.accounts, portal.run)
            text = body(client.get(url)).decode(errors="replace")
            assert SECRET not in text, f"{who} sees the key on {url}"
            assert token not in text, f"{who} sees the encrypted key on {url}"
            checked += 1
    assert checked >= 3 * 8


def test_only_admins_see_the_webhook_token(portal, client, no_network):
    """The receiver URL carries the account's webhook token; when a vendor webhook
    points there, managers and agents see it masked on every page."""
    account = portal.account
    hook = portal.rows["webhook"]
    # Switched off by the vendor, so banners name it too.
    type(hook).objects.filter(pk=hook.pk).update(
        url=f"https://portal.example{account.webhook_path}", enabled=False
    )
    token = account.webhook_token
    seen_by = {}
    for who in ("admin", "manager", "agent"):
        client.force_login(portal.personas[who])
        for page in all_pages():
            if not get_allowed(page) or page.name.startswith("admin:"):
                continue
            url, _ = url_for(page, {"surfly": account}, portal.run)
            if token in body(client.get(url)).decode(errors="replace"):
                seen_by.setdefault(who, []).append(page.name)
    assert set(seen_by) == {"admin"}, seen_by
    assert "surfly:webhooks" in seen_by["admin"]  # the check can see it


# --- logs, run errors and account status during failing syncs -------------------------
@pytest.fixture
def log_sinks(caplog):
    """Everything logged at DEBUG: pytest's capture (raw records) and a stream
    handler carrying the project's RedactingFilter (what production writes)."""
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.addFilter(redaction.RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    third_party = [logging.getLogger(n) for n in ("urllib3", "requests", "celery")]
    levels = [lg.level for lg in third_party]
    for lg in third_party:
        lg.setLevel(logging.DEBUG)
    yield caplog, stream
    root.removeHandler(handler)
    for lg, level in zip(third_party, levels, strict=True):
        lg.setLevel(level)


FAILURES = {
    "401 echoing the key": dict(
        status=401, json={"detail": f"Invalid API key {SECRET}."}
    ),
    "500 with the URL in the message": dict(
        status=500,
        json={"detail": f"upstream error for {OPTIONS_URL}?api_key={SECRET}"},
    ),
    "connection error naming the URL": dict(
        body=requests.ConnectionError(
            f"HTTPSConnectionPool(host='surfly.test', port=443): Max retries exceeded "
            f"with url: /v2/company/options/?api_key={SECRET} (Caused by "
            "NewConnectionError('Failed to establish a new connection'))"
        )
    ),
    "HTML error page quoting the query": dict(
        status=502,
        body=f"<html>Bad gateway for ?api_key={SECRET}</html>",
        content_type="text/html",
    ),
}


def sync_and_collect(account, failure: dict, sinks) -> list[str]:
    caplog, stream = sinks
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, OPTIONS_URL, **failure)
        run = execute_stream(account.pk, "options", trigger=Trigger.MANUAL)
    account.refresh_from_db()
    run = SyncRun.objects.get(pk=run.pk)
    assert run.status == "failed"
    own_records = [r for r in caplog.records if r.name.startswith("cobrowse")]
    return [
        stream.getvalue(),
        # Raw records as every handler saw them: the project's console handler
        # (settings.LOGGING, root) redacts records in place, third-party ones too.
        caplog.text,
        run.error,
        account.status_message,
        "\n".join(r.getMessage() for r in own_records),
        "\n".join(str(r.exc_info[1]) for r in own_records if r.exc_info),
    ]


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_failing_sync_never_leaks_the_key(reseller, failure, log_sinks):
    account = make_account(reseller, "Desk")
    sinks = sync_and_collect(account, failure, log_sinks)
    assert sinks[2], "the run should say what went wrong"
    for text in sinks:
        assert SECRET not in text
    if failure.get("status") == 401:
        assert account.status == AccountStatus.NEEDS_ATTENTION


def test_crash_with_the_key_in_the_traceback_is_redacted(
    reseller, log_sinks, monkeypatch
):
    from vendors.surfly.client import SurflyClient

    def explode(self):
        raise RuntimeError(f"unexpected answer from {OPTIONS_URL}?api_key={SECRET}")

    monkeypatch.setattr(SurflyClient, "get_options", explode)
    account = make_account(reseller, "Desk")
    run = execute_stream(account.pk, "options", trigger=Trigger.MANUAL)
    run.refresh_from_db()
    assert run.status == "failed" and "RuntimeError" in run.error
    caplog, stream = log_sinks
    assert "Traceback" in stream.getvalue()  # the traceback went out, redacted
    assert SECRET not in stream.getvalue()
    assert SECRET not in run.error


def test_the_leak_checks_catch_a_broken_redactor(reseller, log_sinks, monkeypatch):
    """With redaction switched off, the same sinks do show the key: the checks
    above can fail."""
    identity = str
    for module in (redaction, vk_client, vk_http, vk_runs):
        monkeypatch.setattr(module, "redact", identity)
    monkeypatch.setattr(redaction.RedactingFilter, "filter", lambda self, record: True)
    monkeypatch.setattr(redaction, "_known", set())
    monkeypatch.setattr(vk_client, "register_secret", lambda value: None)
    account = make_account(reseller, "Desk")
    sinks = sync_and_collect(
        account, FAILURES["connection error naming the URL"], log_sinks
    )
    assert any(SECRET in text for text in sinks)
