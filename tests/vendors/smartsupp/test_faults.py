"""The Smartsupp client through a misbehaving Smartsupp: the sandbox with the
platform's fault injection (20%: 429 with Retry-After, 500, timeouts,
malformed JSON) and its rate limit. Every fault surfaces as a transient
vendorkit error (never as data), so a caller that retries reads every account
and user exactly once; and the sandbox's rate limit answers 429 with
Retry-After in Smartsupp's error body."""

from __future__ import annotations

import pytest
import requests
from django.test import override_settings

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from vendors.smartsupp.sandbox.models import Account, User
from vendors.smartsupp.sandbox.seed import RESELLER_KEY

from .conftest import SANDBOX, client_for

pytestmark = [SANDBOX, pytest.mark.slow]
#: A fault sequence under which several calls fail (checked below, so a change
#: that hides failures is noticed).
SEED = 3
TRIES = 30


def retried(call, failures: list):
    """`call()` until it answers; every transient failure is recorded."""
    for _ in range(TRIES):
        try:
            return call()
        except errors.TransientVendorError as exc:
            failures.append(type(exc).__name__)
    raise AssertionError(f"still failing after {TRIES} tries: {failures[-3:]}")


@override_settings(
    VENDOR_READ_TIMEOUT=0.5, VENDOR_MAX_RETRIES=1, VENDOR_BACKOFF_MAX=0.2
)
def test_every_account_and_user_read_once_through_20_percent_faults(sandbox):
    api = client_for(sandbox)
    set_faults(
        "smartsupp",
        RESELLER_KEY,
        rate_429=0.05,
        rate_500=0.05,
        rate_timeout=0.05,
        rate_malformed=0.05,
        retry_after_seconds=1,
        timeout_seconds=1.0,
        seed=SEED,
    )
    failures: list[str] = []
    try:
        accounts = retried(api.list_accounts, failures)
        users = {
            a.id: retried(lambda a=a: api.list_users(a.id), failures) for a in accounts
        }
        made = retried(
            lambda: api.create_account("Made through faults", "en"), failures
        )
    finally:
        clear_faults("smartsupp", RESELLER_KEY)
    assert failures, "the fault profile never fired"
    assert api.requests_made > len(accounts) + 2  # urllib3 retried some GETs
    vendor = Account.objects.filter(owner__key=RESELLER_KEY).exclude(
        number=int(made.id)
    )
    assert sorted(a.id for a in accounts) == sorted(
        str(n) for n in vendor.values_list("number", flat=True)
    )
    for a in accounts:
        ids = [u.id for u in users[a.id]]
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(
            str(n)
            for n in User.objects.filter(account__number=int(a.id)).values_list(
                "number", flat=True
            )
        )
    # A fault answers before the operation runs: the retried create made one.
    assert Account.objects.filter(title="Made through faults").count() == 1


def test_a_malformed_answer_is_never_data(sandbox):
    api = client_for(sandbox)
    set_faults("smartsupp", RESELLER_KEY, rate_malformed=1.0)
    try:
        with pytest.raises(errors.MalformedResponse):
            api.list_accounts()
    finally:
        clear_faults("smartsupp", RESELLER_KEY)


def test_the_rate_limit_answers_429_with_retry_after(sandbox):
    # Per hour, so the four requests cannot straddle two windows.
    with override_settings(SANDBOX_RATE_LIMIT="3/h", VENDOR_MAX_RETRIES=0):
        answers = [
            requests.get(
                f"{sandbox}/test", headers={"apiKey": RESELLER_KEY}, timeout=10
            )
            for _ in range(4)
        ]
        with pytest.raises(errors.RateLimited) as info:
            client_for(sandbox).test()
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    last = answers[3]
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    assert last.json()["error"] == "RateLimited" and last.json()["message"]
    assert info.value.status == 429 and info.value.retry_after >= 1
