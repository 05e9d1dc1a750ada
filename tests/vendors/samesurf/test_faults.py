"""An analytics backfill through a misbehaving SameSurf (the sandbox with 20%
faults: 429 with Retry-After, 500, timeouts, malformed JSON) still stores every
room exactly once, and each failed run resumes at the page it saved."""

from __future__ import annotations

import json

import pytest
import requests
from django.test import override_settings

from cobrowse_portal.core.choices import ActivityKind, RunStatus
from cobrowse_portal.core.models import Activity
from cobrowse_portal.vendorkit.runs import execute_stream, load_cursor
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from tests.conftest import sandbox_account
from vendors.samesurf.client import SameSurfClient
from vendors.samesurf.models import SameSurfRecording, SameSurfRoom
from vendors.samesurf.sandbox.models import Room
from vendors.samesurf.sandbox.seed import RESELLER_KEY, RESELLER_NAME

from .conftest import SANDBOX

pytestmark = [SANDBOX, pytest.mark.slow]
#: A fault sequence under which the first run fails part-way (checked below, so
#: a change that hides failures is noticed).
SEED = 3


@override_settings(
    VENDOR_READ_TIMEOUT=0.5, VENDOR_MAX_RETRIES=1, VENDOR_BACKOFF_MAX=0.2
)
def test_backfill_with_20_percent_faults_stores_every_room_once(
    reseller, sandbox, live_server, monkeypatch
):
    monkeypatch.setattr(SameSurfClient, "page_size", 20)
    past = Room.objects.filter(subscription__name=RESELLER_NAME, ended_at__isnull=False)
    vendor = {
        (r.number, r.version): (r.started_at, r.duration, r.recordings, r.title)
        for r in past
    }
    assert len(vendor) > 20 * 8  # many pages, so resuming is exercised
    account = sandbox_account(reseller, live_server.url, vendor="samesurf")
    sent: list[list[dict]] = []  # per run: the analyticsrooms bodies sent
    real_send = requests.adapters.HTTPAdapter.send

    def send(self, request, **kwargs):
        if request.url.endswith("/analyticsrooms") and sent:
            sent[-1].append(json.loads(request.body))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    set_faults(
        "samesurf",
        RESELLER_KEY,
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
            run = execute_stream(account.pk, "analytics")
            runs.append(run)
            saved.append(load_cursor(account.pk, "analytics"))
            if run.status == RunStatus.SUCCEEDED:
                break
    finally:
        clear_faults("samesurf", RESELLER_KEY)
    assert runs[-1].status == RunStatus.SUCCEEDED, [r.error for r in runs]
    assert len(runs) > 1 and runs[0].status == RunStatus.FAILED
    # A run after a failure that had saved a page asks first for the page after it,
    # in the same window.
    resumed = 0
    for i in range(1, len(runs)):
        pending = saved[i - 1]
        if pending.get("skip") is not None:
            first = sent[i][0]
            assert first["skip"] == pending["skip"]
            assert first.get("end_date") and first.get("start_date") is None
            resumed += 1
    assert resumed >= 1

    stored = SameSurfRoom.objects.filter(account=account)
    assert stored.count() == len(vendor)
    assert {
        (r.number, r.version): (r.started_at, r.duration, r.recordings, r.title)
        for r in stored
    } == vendor
    acts = Activity.objects.filter(account=account, kind=ActivityKind.ROOM)
    assert acts.count() == len(vendor)
    assert SameSurfRecording.objects.filter(account=account).count() == sum(
        v[2] for v in vendor.values()
    )
