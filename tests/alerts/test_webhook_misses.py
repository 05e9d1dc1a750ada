"""The "webhooks missing changes" rule: the miss rate over the last N covered
pulls (pulls that found nothing left out), judged from a minimum sample,
above the workspace's threshold opens an alert; later pulls with fewer misses
resolve it. Only accounts whose vendor reconciles webhooks with pulls, and
only the workspace's own runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cobrowse_portal.alerts.engine import evaluate
from cobrowse_portal.alerts.models import Alert, AlertSettings, AlertStatus
from cobrowse_portal.core.choices import AccountStatus
from tests.core.conftest import OTHER_SECRET, make_account, make_run

pytestmark = pytest.mark.django_db

RULE = "webhook_misses"


@pytest.fixture
def account(reseller):
    return make_account(reseller, "Acme Desk", status=AccountStatus.OK)


@pytest.fixture
def settings_(reseller):
    return AlertSettings.objects.create(
        workspace=reseller,
        webhook_miss_percent=20,
        webhook_miss_runs=3,
        webhook_miss_min_sample=10,
    )


class Pulls:
    """History runs of one account, a minute apart, with their figures."""

    def __init__(self, account):
        self.account = account
        self.at = timezone.now() - timedelta(hours=1)

    def add(self, missed, matched, stream="history"):
        self.at += timedelta(minutes=1)
        return make_run(
            self.account,
            stream,
            queued_at=self.at,
            webhook_missed=missed,
            webhook_matched=matched,
            webhook_unmatched=0,
        )


def alerts(workspace):
    return list(
        Alert.objects.filter(workspace=workspace, rule=RULE, status=AlertStatus.OPEN)
    )


def test_a_high_miss_rate_opens_and_a_low_one_resolves(reseller, account, settings_):
    pulls = Pulls(account)
    for _ in range(3):
        pulls.add(missed=2, matched=3)  # 6 of 15: 40 %
    evaluate(reseller)
    [alert] = alerts(reseller)
    assert alert.key == f"webhooks:{account.pk}" and alert.account_id == account.pk
    assert "6 of 15" in alert.message and "40 %" in alert.message
    evaluate(reseller)  # still high: the same alert, bumped
    assert [a.pk for a in alerts(reseller)] == [alert.pk]
    pulls.add(missed=0, matched=0, stream="live")  # found nothing: left out
    pulls.add(missed=0, matched=10)
    pulls.add(missed=1, matched=10)  # last three: 3 of 26, 11.5 %
    evaluate(reseller)
    assert alerts(reseller) == []
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at


def test_the_threshold_is_exclusive_and_per_workspace(reseller, account, settings_):
    pulls = Pulls(account)
    for _ in range(3):
        pulls.add(missed=1, matched=4)  # exactly 20 %
    evaluate(reseller)
    assert alerts(reseller) == []
    settings_.webhook_miss_percent = 19
    settings_.save()
    evaluate(reseller)
    assert len(alerts(reseller)) == 1


def test_too_small_a_sample_is_not_judged(reseller, account, settings_):
    pulls = Pulls(account)
    for _ in range(3):
        pulls.add(missed=3, matched=0)  # 100 %, but 9 records < 10
    evaluate(reseller)
    assert alerts(reseller) == []
    pulls.add(missed=4, matched=0)  # last three: 10 records
    evaluate(reseller)
    assert len(alerts(reseller)) == 1


def test_runs_without_figures_and_other_vendors_are_ignored(reseller, account):
    AlertSettings.objects.create(
        workspace=reseller, webhook_miss_runs=1, webhook_miss_min_sample=1
    )
    make_run(account, "history")  # before reconciliation: no figures
    chat = make_account(reseller, "Chats", vendor="smartsupp")  # declares none
    make_run(chat, "accounts", webhook_missed=5, webhook_matched=0)
    evaluate(reseller)
    assert alerts(reseller) == []


def test_only_the_workspaces_own_runs(reseller, other_workspace, account):
    theirs = make_account(other_workspace, "Initech Desk", key=OTHER_SECRET)
    AlertSettings.objects.create(
        workspace=reseller, webhook_miss_runs=1, webhook_miss_min_sample=1
    )
    make_run(theirs, "history", webhook_missed=9, webhook_matched=1)
    evaluate(reseller)
    assert alerts(reseller) == []
    evaluate(other_workspace)  # defaults: 5 runs, 10 records, 20 %
    [alert] = alerts(other_workspace)
    assert alert.account_id == theirs.pk
