"""A session backfill through a misbehaving Upscope (the sandbox with 20%
faults: 429 with Retry-After, 500, timeouts, malformed JSON) still stores every
session exactly once, and each failed run resumes after the page it saved."""

from __future__ import annotations

import pytest
import requests
from django.test import override_settings

from cobrowse_portal.core.choices import ActivityKind, RunStatus
from cobrowse_portal.core.models import Activity
from cobrowse_portal.vendorkit.runs import execute_stream, load_cursor
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from tests.conftest import sandbox_account
from vendors.upscope import sync as upscope_sync
from vendors.upscope.models import UpscopeSession
from vendors.upscope.sandbox import views as sandbox_views
from vendors.upscope.sandbox.models import CobrowsingSession
from vendors.upscope.sandbox.seed import MAIN_KEY

from .conftest import SANDBOX

pytestmark = [SANDBOX, pytest.mark.slow]
#: A fault sequence under which the first run fails part-way (checked below, so
#: a change that hides failures is noticed).
SEED = 3


@override_settings(
    VENDOR_READ_TIMEOUT=0.5, VENDOR_MAX_RETRIES=1, VENDOR_BACKOFF_MAX=0.2
)
def test_backfill_with_20_percent_faults_stores_every_session_once(
    reseller, sandbox, live_server, monkeypatch
):
    # Upscope's page size is its own (undocumented); smaller pages here, so a
    # backfill of the test seed is many pages.
    monkeypatch.setattr(sandbox_views, "SESSIONS_PAGE", 20)
    monkeypatch.setattr(upscope_sync, "GROUP_ROWS", 40)  # two pages a write
    vendor = {
        s.public_id: (s.started_at, s.ended_at, s.visitor_short_id)
        for s in CobrowsingSession.objects.filter(account__api_key=MAIN_KEY)
    }
    assert len(vendor) > 20 * 10  # many pages, so resuming is exercised
    account = sandbox_account(reseller, live_server.url, vendor="upscope")
    sent: list[list[str]] = []  # per run: the session list queries sent
    real_send = requests.adapters.HTTPAdapter.send

    def send(self, request, **kwargs):
        if "cobrowsing_sessions/list" in request.url and sent:
            sent[-1].append(request.url.partition("?")[2])
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    set_faults(
        "upscope",
        MAIN_KEY,
        rate_429=0.05,
        rate_500=0.05,
        rate_timeout=0.05,
        rate_malformed=0.05,
        retry_after_seconds=1,
        timeout_seconds=1.0,
        seed=SEED,
    )
    runs, saved = [], []
    try:
        for _ in range(40):
            sent.append([])
            run = execute_stream(account.pk, "sessions")
            runs.append(run)
            saved.append(load_cursor(account.pk, "sessions"))
            if run.status == RunStatus.SUCCEEDED:
                break
    finally:
        clear_faults("upscope", MAIN_KEY)
    assert runs[-1].status == RunStatus.SUCCEEDED, [r.error for r in runs]
    assert len(runs) > 1 and runs[0].status == RunStatus.FAILED
    # A run after a failure that had saved a page asks first for the page after
    # it (`after_id`), with the same filter (none during the backfill).
    resumed = 0
    for i in range(1, len(runs)):
        after = saved[i - 1].get("after")
        if after:
            assert sent[i][0] == f"after_id={after}", sent[i][0]
            resumed += 1
    assert resumed >= 1

    stored = UpscopeSession.objects.filter(account=account)
    assert stored.count() == len(vendor)
    assert {
        s.external_id: (s.started_at, s.ended_at, s.visitor_short_id) for s in stored
    } == vendor
    acts = Activity.objects.filter(account=account, kind=ActivityKind.COBROWSE)
    assert acts.count() == len(vendor)
    assert sum(r.created for r in runs) == len(vendor)  # each stored once
