"""A backfill through a misbehaving Surfly (the sandbox with faults on) still stores
every history record exactly once, and each failed run is resumed from the page
it saved rather than started over."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.test import override_settings

from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.vendorkit.runs import execute_stream, load_cursor
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
def page_key(url: str) -> tuple[str, frozenset]:
    """A history request as path and query, without the credentials."""
    parts = urlsplit(url)
    query = frozenset((k, v) for k, v in parse_qsl(parts.query) if k != "api_key")
    return parts.path, query


def content(row) -> tuple:
    """What a stored session says about the vendor's record (stable fields)."""
    return (
        row["api_id"],
        row["formatted_id"],
        row["start_time"],
        row["end_time"],
        row["duration"] if row["end_time"] else None,
        list(row["tags"]),
        row["pin"] or "",
        row["server"],
    )


def test_backfill_with_20_percent_faults_stores_every_record_once(
    reseller, live_server, monkeypatch
):
    seed(size=400, seed=7)
    Company.objects.filter(api_key=RESELLER_KEY).update(history_page_size=25)
    vendor_records = {
        s.session_id: (
            s.raw_id,
            s.formatted_id,
            s.start_time,
            s.end_time,
            s.duration if s.end_time else None,
            list(s.tags),
            s.pin or "",
            s.server,
        )
        for s in SandboxSession.objects.filter(company__api_key=RESELLER_KEY)
    }
    expected = set(vendor_records)
    assert len(expected) > 400 / 25 * 2  # many pages, so resuming is exercised
    account = sandbox_account(reseller, live_server.url)
    # Every history request the portal sends, per run (any thread: pages are
    # prefetched in the background).
    sent: list[list[str]] = []
    real_send = requests.adapters.HTTPAdapter.send

    def send(self, request, **kwargs):
        if "/history/" in request.url and sent:
            sent[-1].append(request.url)
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
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
    runs, saved = [], []  # saved[i]: the cursor run i left behind
    try:
        for _ in range(40):  # each failed run resumes from its saved page
            sent.append([])
            run = execute_stream(account.pk, "history")
            runs.append(run)
            saved.append(load_cursor(account.pk, "history"))
            if run.status == RunStatus.SUCCEEDED:
                break
    finally:
        clear_faults("surfly", RESELLER_KEY)
    assert runs[-1].status == RunStatus.SUCCEEDED, [r.error for r in runs]

    # Faults really happened: the first run failed, and later ones resumed.
    assert len(runs) > 1 and runs[0].status == RunStatus.FAILED
    assert all(r.status == RunStatus.FAILED for r in runs[:-1])
    resumed = 0
    for i in range(1, len(runs)):
        pending = saved[i - 1].get("next")
        first = sent[i][0] if sent[i] else None
        assert first is not None, f"run {i} sent no history request"
        if pending:
            # The resuming run asks first for the very page the failed one saved.
            assert page_key(first) == page_key(pending), (
                f"run {i} started at {first}, not at the saved page {pending}"
            )
            resumed += 1
        else:
            assert "page" not in dict(page_key(first)[1]) and "offset" not in dict(
                page_key(first)[1]
            ), f"run {i} had no saved page but started at {first}"
    assert resumed >= 1, "no run ever resumed from a saved page"
    # Every record of the vendor is stored, once, with the vendor's content; the
    # counters say each was created once and few were read twice.
    rows = list(CobrowseSession.objects.filter(account=account).values())
    assert (
        len(rows)
        == len(vendor_records)
        == SandboxSession.objects.filter(company__api_key=RESELLER_KEY).count()
    )
    by_id = {r["external_id"]: r for r in rows}
    assert set(by_id) == expected, (
        f"missing {sorted(expected - set(by_id))[:5]}, "
        f"extra {sorted(set(by_id) - expected)[:5]}"
    )
    wrong = [k for k, r in by_id.items() if content(r) != vendor_records[k]]
    assert not wrong, f"stored content differs from Surfly's for {wrong[:5]}"
    assert all(r["fingerprint"] for r in rows)
    assert sum(r.created for r in runs) == len(expected)
    # A resumed run re-reads at most the one page its predecessor failed on; a
    # run that started over would process whole pages again.
    processed = sum(r.created + r.updated + r.unchanged for r in runs)
    assert len(expected) <= processed <= len(expected) + 25 * (len(runs) - 1), [
        (r.created, r.updated, r.unchanged) for r in runs
    ]

    # The faults were survived, not skipped: more requests than pages.
    assert sum(r.requests for r in runs) > 400 / 25
