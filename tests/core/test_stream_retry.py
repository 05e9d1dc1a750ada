"""A run that fails for a transient reason is tried again soon (each try its own
SyncRun); a refusal is not."""

from __future__ import annotations

import responses
from django.test import override_settings

from cobrowse_portal.core.choices import RunStatus, Trigger
from cobrowse_portal.core.models import SyncRun
from cobrowse_portal.core.tasks import STREAM_RETRY_DELAYS, run_stream

from .conftest import make_account

OPTIONS = "https://surfly.test/v2/company/options/"


@override_settings(VENDOR_MAX_RETRIES=0)
def test_transient_failures_are_retried_until_the_vendor_answers(reseller):
    account = make_account(reseller, "Flaky", base_url="https://surfly.test/v2")
    with responses.RequestsMock() as mocked:
        mocked.get(OPTIONS, status=503)
        mocked.get(OPTIONS, status=502)
        mocked.get(OPTIONS, json={"videochat": True})
        # Eager: the retries run inline, their countdowns skipped.
        run_stream.apply(args=(account.pk, "options", Trigger.SCHEDULED))
    runs = list(SyncRun.objects.filter(account=account).order_by("pk"))
    assert [r.status for r in runs] == [
        RunStatus.FAILED,
        RunStatus.FAILED,
        RunStatus.SUCCEEDED,
    ]
    assert {r.trigger for r in runs} == {Trigger.SCHEDULED}


@override_settings(VENDOR_MAX_RETRIES=0)
def test_retries_stop_after_the_last_delay(reseller):
    account = make_account(reseller, "Down", base_url="https://surfly.test/v2")
    with responses.RequestsMock() as mocked:
        mocked.get(OPTIONS, status=503)
        run_stream.apply(args=(account.pk, "options"))
    assert SyncRun.objects.filter(account=account).count() == 1 + len(
        STREAM_RETRY_DELAYS
    )


def test_a_refusal_is_not_retried(reseller):
    account = make_account(reseller, "Refused", base_url="https://surfly.test/v2")
    with responses.RequestsMock() as mocked:
        mocked.get(OPTIONS, status=400, json={"errors": {"x": ["no"]}})
        run_stream.apply(args=(account.pk, "options"))
    assert SyncRun.objects.filter(account=account).count() == 1
