"""A backfill through a misbehaving Surfly (the sandbox with faults on) still stores
every history record exactly once."""

from __future__ import annotations

import pytest
from django.test import override_settings

from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.vendorkit.runs import execute_stream
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from tests.conftest import sandbox_account
from vendors.surfly.models import CobrowseSession
from vendors.surfly.sandbox.models import Company, SandboxSession
from vendors.surfly.sandbox.seed import RESELLER_KEY, seed

from .conftest import SANDBOX

pytestmark = [SANDBOX, pytest.mark.slow]
# A fault sequence under which the first run dies on a malformed page and the next
# run resumes (checked below, so a change that hides failures is noticed).
SEED = 11


@override_settings(
    VENDOR_READ_TIMEOUT=0.5, VENDOR_MAX_RETRIES=3, VENDOR_BACKOFF_MAX=0.5
)
def test_backfill_with_20_percent_faults_stores_every_record_once(
    reseller, live_server
):
    seed(size=400, seed=7)
    Company.objects.filter(api_key=RESELLER_KEY).update(history_page_size=25)
    expected = set(
        SandboxSession.objects.filter(company__api_key=RESELLER_KEY).values_list(
            "session_id", flat=True
        )
    )
    account = sandbox_account(reseller, live_server.url)
    # 20% of requests fail: 429 with Retry-After, 500, a timeout, malformed JSON.
    set_faults(
        "surfly",
        RESELLER_KEY,
        rate_429=0.05,
        rate_500=0.05,
        rate_timeout=0.05,
        rate_malformed=0.05,
        retry_after_seconds=1,
        timeout_seconds=1.0,
        seed=SEED,
    )
    runs = []
    try:
        for _ in range(40):  # each failed run resumes from its saved page
            run = execute_stream(account.pk, "history")
            runs.append(run)
            if run.status == RunStatus.SUCCEEDED:
                break
    finally:
        clear_faults("surfly", RESELLER_KEY)
    assert runs[-1].status == RunStatus.SUCCEEDED, [r.error for r in runs]

    stored = list(
        CobrowseSession.objects.filter(account=account).values_list(
            "external_id", flat=True
        )
    )
    assert len(stored) == len(set(stored)), "a record was stored twice"
    assert set(stored) == expected
    # Runs failed on faults and later runs resumed instead of starting over.
    assert len(runs) > 1 and runs[0].status == RunStatus.FAILED
    assert all(r.created > 0 for r in runs[1:]) or len(runs) > 2
    # The faults really happened and were survived, not skipped.
    assert sum(r.requests for r in runs) > 400 / 25
    assert sum(r.created for r in runs) == len(expected)
