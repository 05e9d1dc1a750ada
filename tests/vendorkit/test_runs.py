"""Running a stream: claims, cursors saved per page and resumed, SyncRun counts,
and what each kind of failure does to the run and the account."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from cobrowse_portal.core.choices import AccountStatus, RunStatus, Trigger
from cobrowse_portal.core.models import SyncClaim, SyncRun, VendorAccount
from cobrowse_portal.vendorkit import errors, registry
from cobrowse_portal.vendorkit.bulk import upsert
from cobrowse_portal.vendorkit.registry import Stream
from cobrowse_portal.vendorkit.runs import (
    acquire_claim,
    execute_stream,
    load_cursor,
    queue_run,
)
from vendors.surfly.models import SurflyAgent

BASE = "https://surfly.test/v2"
PLAN: dict = {}


def fake_stream(ctx) -> None:
    """Pages of agents; resumes from the saved page number; fails where told."""
    start = ctx.cursor.get("page", 0)
    PLAN["starts"].append(start)
    for n in range(start, len(PLAN["pages"])):
        if n == PLAN.get("fail_at"):
            raise PLAN["error"]
        ctx.client.get_json(f"fake/{n}/")
        ctx.add(upsert(SurflyAgent, ctx.account, PLAN["pages"][n]))
        ctx.page_done({"page": n + 1})
        if "observe" in PLAN:
            PLAN["observe"](ctx)
    ctx.save_cursor({})  # a full pass done: next run starts over


def rows(*ids, name="A"):
    return [
        {"external_id": str(i), "name": f"{name}{i}", "raw": {"id": i, "n": name}}
        for i in ids
    ]


@pytest.fixture
def fake(monkeypatch, account):
    spec = registry.get("surfly")
    monkeypatch.setattr(
        spec,
        "streams",
        (*spec.streams, Stream("fake", "Fake", f"{__name__}.fake_stream", every=60)),
    )
    PLAN.clear()
    PLAN.update(starts=[], pages=[rows(1, 2), rows(3, 4), rows(5)])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for n in range(5):
            mock.add(responses.GET, f"{BASE}/fake/{n}/", json={"page": n})
        yield mock


# --- claims ---------------------------------------------------------------------------
def test_a_second_claim_is_refused_while_held(account):
    first = acquire_claim(account.pk, "agents")
    assert first is not None
    assert acquire_claim(account.pk, "agents") is None
    assert acquire_claim(account.pk, "history") is not None  # other stream: free
    first.release()
    assert acquire_claim(account.pk, "agents") is not None


def test_an_expired_claim_is_taken_over(account):
    crashed = acquire_claim(account.pk, "agents")
    SyncClaim.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    taker = acquire_claim(account.pk, "agents")
    assert taker is not None and taker.token != crashed.token
    crashed.release()  # the crashed worker waking up must not free the new claim
    assert SyncClaim.objects.filter(token=taker.token).exists()


def test_heartbeat_pushes_the_expiry(account, settings):
    settings.SYNC_CLAIM_TTL_SECONDS = 60
    claim = acquire_claim(account.pk, "agents")
    SyncClaim.objects.update(expires_at=timezone.now() + timedelta(seconds=5))
    claim.heartbeat()
    expires = SyncClaim.objects.get().expires_at
    assert expires > timezone.now() + timedelta(seconds=55)


def test_overlapping_run_is_skipped(account, fake):
    held = acquire_claim(account.pk, "fake")
    run = execute_stream(account.pk, "fake", trigger=Trigger.SCHEDULED)
    assert run.status == RunStatus.SKIPPED
    assert "another run of this stream is in progress" in run.error
    assert PLAN["starts"] == [] and len(fake.calls) == 0
    held.release()


# --- a successful run -----------------------------------------------------------------
def test_run_records_counts_pages_requests_and_progress(account, fake):
    seen = []
    PLAN["observe"] = lambda ctx: seen.append(
        SyncRun.objects.values_list("status", "pages", "created").get(pk=ctx.run.pk)
    )
    queued = queue_run(account, "fake", Trigger.MANUAL)
    assert queued.status == RunStatus.QUEUED
    run = execute_stream(account.pk, "fake", trigger=Trigger.MANUAL, run_id=queued.pk)
    run = SyncRun.objects.get(pk=queued.pk)
    assert run.status == RunStatus.SUCCEEDED and run.error == ""
    assert (run.created, run.updated, run.unchanged, run.removed) == (5, 0, 0, 0)
    assert run.pages == 3 and run.requests == 3
    assert run.started_at and run.finished_at and run.duration is not None
    # Progress was visible to other readers (the progress fragment) page by page.
    assert seen == [("running", 1, 2), ("running", 2, 4), ("running", 3, 5)]
    account.refresh_from_db()
    assert (
        account.status == AccountStatus.OK and account.last_synced_at == run.finished_at
    )
    assert not SyncClaim.objects.exists()  # released

    PLAN["pages"][0] = rows(1, 2, name="B")  # two rows changed at the vendor
    again = execute_stream(account.pk, "fake")
    assert (again.created, again.updated, again.unchanged) == (0, 2, 3)
    assert again.trigger == Trigger.SCHEDULED


# --- failures and resuming ------------------------------------------------------------
def test_cursor_is_saved_per_page_and_a_failed_run_resumes_there(account, fake):
    PLAN.update(fail_at=2, error=errors.TransientVendorError("surfly answered 503"))
    run = execute_stream(account.pk, "fake")
    assert run.status == RunStatus.FAILED and run.error == "surfly answered 503"
    assert (run.pages, run.created) == (2, 4)  # what was done is kept and counted
    assert load_cursor(account.pk, "fake") == {"page": 2}
    assert SurflyAgent.objects.filter(account=account).count() == 4
    account.refresh_from_db()
    assert account.status == AccountStatus.FAILING
    assert not SyncClaim.objects.exists()

    PLAN.pop("fail_at")
    fake.calls.reset()
    run = execute_stream(account.pk, "fake")
    assert run.status == RunStatus.SUCCEEDED
    assert PLAN["starts"] == [0, 2]  # resumed at the failed page
    assert [c.request.url.split("?")[0] for c in fake.calls] == [f"{BASE}/fake/2/"]
    assert (run.created, run.pages) == (1, 1)
    assert SurflyAgent.objects.filter(account=account).count() == 5
    assert load_cursor(account.pk, "fake") == {}


def test_rejected_credentials_need_attention(account, fake):
    PLAN.update(
        fail_at=0,
        error=errors.AuthError(
            "surfly answered 401", status=401, vendor_message="Invalid API key."
        ),
    )
    run = execute_stream(account.pk, "fake")
    assert run.status == RunStatus.FAILED
    assert run.error == "credentials rejected: Invalid API key."
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_ATTENTION
    assert account.status_message == "Invalid API key."
    assert execute_stream(account.pk, "fake") is None  # paused: no run, no call
    assert PLAN["starts"] == [0]


def test_a_crash_fails_the_run_readably_and_releases_the_claim(account, fake):
    PLAN.update(fail_at=1, error=KeyError("agent_id"))
    run = execute_stream(account.pk, "fake")
    assert run.status == RunStatus.FAILED
    assert run.error == "internal error: KeyError: 'agent_id'"
    account.refresh_from_db()
    assert account.status == AccountStatus.FAILING
    assert account.status_message == "internal error"
    assert not SyncClaim.objects.exists()


def test_disabled_account_is_skipped(account, fake):
    VendorAccount.objects.filter(pk=account.pk).update(enabled=False)
    assert execute_stream(account.pk, "fake") is None
    queued = queue_run(account, "fake", Trigger.MANUAL)
    run = execute_stream(account.pk, "fake", run_id=queued.pk)
    assert run.status == RunStatus.SKIPPED and run.finished_at is not None
    assert PLAN["starts"] == []


def test_run_stream_task_summarises(account, fake):
    from cobrowse_portal.core.tasks import run_stream

    assert run_stream(account.pk, "fake") == "fake: succeeded (+5 ~0 -0 =0, 3 requests)"
    assert run_stream(987654, "fake") == "account 987654 is gone"
    VendorAccount.objects.filter(pk=account.pk).update(enabled=False)
    assert run_stream(account.pk, "fake").startswith("skipped")
