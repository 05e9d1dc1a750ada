"""The "rate budget exhausted for a long time" rule: an alert opens once an
account's vendor host waited (or refused calls) in each of the last M minutes,
and resolves after a minute without waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cobrowse_portal.alerts.engine import evaluate
from cobrowse_portal.alerts.models import Alert, AlertSettings, AlertStatus
from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.vendorkit import ratebudget, ratelimit
from cobrowse_portal.vendorkit.models import RateBudgetMinute
from tests.core.conftest import OTHER_SECRET, make_account

pytestmark = pytest.mark.django_db

KEY = "surfly:surfly.test"
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def exhausted_minute(minute: datetime, host: str = KEY, **counts) -> None:
    RateBudgetMinute.objects.create(
        host=host, minute=minute, requests=100, **(counts or {"waited": 5})
    )


def at(minute: datetime) -> datetime:
    """The sweep's time just after `minute` ended (past the grace)."""
    return minute + timedelta(minutes=1, seconds=ratebudget.GRACE_SECONDS + 1)


def open_rate_alerts(workspace):
    return list(
        Alert.objects.filter(
            workspace=workspace, rule="rate_budget", status=AlertStatus.OPEN
        )
    )


def test_opens_after_m_exhausted_minutes_and_resolves_after_a_calm_one(reseller):
    account = make_account(reseller, "Acme Desk")
    AlertSettings.objects.create(workspace=reseller, rate_budget_minutes=4)
    for i in range(3):
        exhausted_minute(START + timedelta(minutes=i))
    evaluate(reseller, now=at(START + timedelta(minutes=2)))
    assert open_rate_alerts(reseller) == []  # 3 of 4 minutes
    # The 4th minute only refused calls: still exhausted.
    exhausted_minute(START + timedelta(minutes=3), waited=0, refused=2)
    evaluate(reseller, now=at(START + timedelta(minutes=3)))
    (alert,) = open_rate_alerts(reseller)
    assert alert.key == f"rate:{KEY}" and alert.account_id == account.pk
    assert "surfly.test" in alert.subject and "last 4 minutes" in alert.message
    # Still exhausted a minute later: the same alert, seen again.
    exhausted_minute(START + timedelta(minutes=4))
    evaluate(reseller, now=at(START + timedelta(minutes=4)))
    assert [a.pk for a in open_rate_alerts(reseller)] == [alert.pk]
    # A minute with calls but no waits: resolved.
    RateBudgetMinute.objects.create(
        host=KEY, minute=START + timedelta(minutes=5), requests=40
    )
    evaluate(reseller, now=at(START + timedelta(minutes=5)))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and open_rate_alerts(reseller) == []


def test_a_gap_in_the_window_does_not_open_it(reseller):
    make_account(reseller, "Acme Desk")
    AlertSettings.objects.create(workspace=reseller, rate_budget_minutes=3)
    exhausted_minute(START)
    exhausted_minute(START + timedelta(minutes=2))  # minute 1: no calls at all
    evaluate(reseller, now=at(START + timedelta(minutes=2)))
    assert open_rate_alerts(reseller) == []


def test_only_the_workspaces_own_hosts(reseller, other_workspace):
    make_account(reseller, "Acme Desk")
    make_account(
        other_workspace,
        "Initech Desk",
        key=OTHER_SECRET,
        base_url="https://initech-surfly.test/v2",
    )
    for i in range(15):  # the default M
        exhausted_minute(
            START + timedelta(minutes=i), host="surfly:initech-surfly.test"
        )
    now = at(START + timedelta(minutes=14))
    evaluate(reseller, now=now)
    assert open_rate_alerts(reseller) == []
    evaluate(other_workspace, now=now)
    assert len(open_rate_alerts(other_workspace)) == 1
    # A disabled account's host is not judged.
    VendorAccount.objects.filter(workspace=other_workspace).update(enabled=False)
    evaluate(other_workspace, now=now)
    assert open_rate_alerts(other_workspace) == []


def test_the_sweep_flushes_then_the_rule_sees_the_minute(reseller):
    """The flush runs before the alerts in the same sweep (receiver order)."""
    from cobrowse_portal.core.signals import sweeping
    from cobrowse_portal.core.tasks import sweep

    make_account(reseller, "Acme Desk")
    AlertSettings.objects.create(workspace=reseller, rate_budget_minutes=1)
    names = [getattr(r, "__module__", "") for r in sweeping._live_receivers(None)[0]]
    assert names.index("cobrowse_portal.vendorkit.apps") < names.index(
        "cobrowse_portal.alerts.apps"
    )
    minute = START + timedelta(minutes=7)
    ts = (minute + timedelta(seconds=30)).timestamp()
    ratelimit.record(KEY, "requests", 3, now=ts)
    ratelimit.record(KEY, "waited", 1, now=ts)
    # What core.sweep sends, at a known time.
    replies = [text for _r, text in sweeping.send(sender=sweep, now=at(minute))]
    assert any("1 host-minutes flushed" in (t or "") for t in replies)
    assert len(open_rate_alerts(reseller)) == 1
