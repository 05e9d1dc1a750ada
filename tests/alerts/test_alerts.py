"""Alerts: the rules fire and clear, alerts open / repeat-suppress / remind /
resolve and e-mail once each, the hooks (a finished run, the minute's sweep)
evaluate, and the pages are scoped per workspace and role."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.alerts.engine import evaluate
from cobrowse_portal.alerts.models import Alert, AlertSettings, AlertStatus
from cobrowse_portal.core.choices import AccountStatus, Role, RunStatus
from cobrowse_portal.core.models import VendorAccount
from cobrowse_portal.core.tasks import sweep
from cobrowse_portal.provisioning.models import StepStatus
from cobrowse_portal.vendorkit.runs import execute_stream
from tests.conftest import make_user
from tests.core.conftest import (
    OTHER_SECRET,
    SURFLY_URL,
    make_account,
    make_provisioning_run,
    make_run,
)
from vendors.surfly.models import SurflyWebhook

pytestmark = pytest.mark.django_db

LIST = reverse("alerts:list")
SETTINGS = reverse("alerts:settings")


@pytest.fixture
def account(reseller, personas):
    return make_account(reseller, "Acme Desk", status=AccountStatus.OK)


@pytest.fixture
def other(other_workspace):
    return make_account(other_workspace, "Initech Desk", key=OTHER_SECRET)


def reject(account, message="Invalid API key."):
    VendorAccount.objects.filter(pk=account.pk).update(
        status=AccountStatus.NEEDS_ATTENTION, status_message=message
    )


def fix(account):
    account.refresh_from_db()
    account.set_credentials({"api_key": "a-working-key-0001"})
    account.save()


def open_alerts(workspace, rule=None):
    qs = Alert.objects.filter(workspace=workspace, status=AlertStatus.OPEN)
    return list(qs.filter(rule=rule) if rule else qs)


# --- lifecycle and e-mail ----------------------------------------------------------
def test_an_alert_opens_mails_once_reminds_and_resolves_with_one_mail(
    reseller, account
):
    now = timezone.now()
    reject(account)
    evaluate(reseller, now)
    [alert] = open_alerts(reseller)
    assert alert.rule == "account_rejected" and alert.key == f"account:{account.pk}"
    assert alert.first_seen == alert.last_seen == now
    assert "Invalid API key." in alert.message
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]  # the admin, by default
    assert "Alert: Account needs attention" in mail.outbox[0].subject
    assert "Invalid API key." in mail.outbox[0].body

    # Still there a minute and an hour later: bumped, no second e-mail.
    for later in (now + timedelta(minutes=1), now + timedelta(hours=23)):
        evaluate(reseller, later)
    alert.refresh_from_db()
    assert alert.last_seen == now + timedelta(hours=23)
    assert alert.first_seen == now
    assert Alert.objects.count() == 1
    assert len(mail.outbox) == 1

    # R hours (24 by default) after the e-mail: one reminder, then quiet again.
    evaluate(reseller, now + timedelta(hours=24))
    assert len(mail.outbox) == 2
    assert "Still open" in mail.outbox[1].subject
    evaluate(reseller, now + timedelta(hours=25))
    assert len(mail.outbox) == 2

    # Cleared: resolved automatically, one e-mail, never again.
    fix(account)
    evaluate(reseller, now + timedelta(hours=26))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_at == now + timedelta(hours=26)
    assert len(mail.outbox) == 3
    assert "Resolved" in mail.outbox[2].subject
    for later in (27, 80):
        evaluate(reseller, now + timedelta(hours=later))
    assert len(mail.outbox) == 3

    # The same condition later is a new alert (the old one stays resolved).
    reject(account)
    evaluate(reseller, now + timedelta(hours=81))
    assert Alert.objects.count() == 2
    assert len(mail.outbox) == 4


def test_acknowledging_stops_the_reminders(reseller, account, client, personas):
    now = timezone.now()
    reject(account)
    evaluate(reseller, now)
    [alert] = open_alerts(reseller)
    client.force_login(personas["manager"])
    response = client.post(reverse("alerts:acknowledge", args=[alert.pk]))
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    assert alert.acknowledged_by == personas["manager"]
    for hours in (24, 48, 72):
        evaluate(reseller, now + timedelta(hours=hours))
    assert len(mail.outbox) == 1  # the opening only
    assert alert.status == AlertStatus.OPEN  # acknowledged is not resolved


def test_no_mail_on_resolve_when_the_workspace_says_so(reseller, account):
    AlertSettings.objects.create(
        workspace=reseller, notify_on_resolve=False, reminder_hours=2
    )
    now = timezone.now()
    reject(account)
    evaluate(reseller, now)
    evaluate(reseller, now + timedelta(hours=2))  # R = 2: a reminder
    assert len(mail.outbox) == 2
    fix(account)
    evaluate(reseller, now + timedelta(hours=3))
    assert open_alerts(reseller) == []
    assert len(mail.outbox) == 2


def test_recipients_come_from_the_setting(reseller, account):
    AlertSettings.objects.create(
        workspace=reseller, recipients="ops@acme.test, oncall@acme.test"
    )
    reject(account)
    evaluate(reseller)
    assert mail.outbox[0].to == ["ops@acme.test", "oncall@acme.test"]


def test_two_evaluations_at_once_send_one_mail(reseller, account):
    """A run's evaluation and the sweep's may meet: the e-mail is claimed."""
    now = timezone.now()
    reject(account)
    evaluate(reseller, now)
    Alert.objects.update(notified_open_at=None)  # as if the other one were mid-way
    alert = Alert.objects.get()
    from cobrowse_portal.alerts.engine import _claim

    assert _claim(alert, "notified_open_at", None, now)
    assert not _claim(alert, "notified_open_at", None, now)


# --- each rule fires and clears ----------------------------------------------------
def test_failed_runs_in_a_row(reseller, account):
    AlertSettings.objects.create(workspace=reseller, failed_runs=3)
    t = timezone.now() - timedelta(hours=1)
    make_run(account, "agents", RunStatus.SUCCEEDED, queued_at=t)
    for i in range(2):
        make_run(
            account,
            "agents",
            RunStatus.FAILED,
            error="503 busy",
            queued_at=t + timedelta(minutes=i + 1),
        )
    make_run(account, "agents", RunStatus.SKIPPED, queued_at=t + timedelta(minutes=5))
    evaluate(reseller)
    assert open_alerts(reseller, "failed_runs") == []  # two failures: not yet
    make_run(
        account,
        "agents",
        RunStatus.FAILED,
        error="503 busy",
        queued_at=t + timedelta(minutes=6),
    )
    evaluate(reseller)
    [alert] = open_alerts(reseller, "failed_runs")
    assert alert.key == f"stream:{account.pk}:agents"
    assert "503 busy" in alert.message and "Agents" in alert.subject
    make_run(account, "agents", RunStatus.SUCCEEDED, queued_at=t + timedelta(minutes=7))
    evaluate(reseller)
    assert open_alerts(reseller, "failed_runs") == []


def test_the_failed_run_threshold_is_per_workspace(reseller, account):
    AlertSettings.objects.create(workspace=reseller, failed_runs=1)
    make_run(account, "options", RunStatus.FAILED, error="boom")
    evaluate(reseller)
    assert len(open_alerts(reseller, "failed_runs")) == 1


def test_no_new_data(reseller, account):
    """Surfly's longest history stream runs daily: K = 3 gives three days."""
    now = timezone.now()
    make_run(
        account,
        "history",
        RunStatus.SUCCEEDED,
        created=4,
        finished_at=now - timedelta(days=2),
    )
    # Runs that brought nothing do not count as new data.
    make_run(account, "history", RunStatus.SUCCEEDED, finished_at=now)
    evaluate(reseller, now)
    assert open_alerts(reseller, "no_new_data") == []
    evaluate(reseller, now + timedelta(days=1, minutes=1))
    [alert] = open_alerts(reseller, "no_new_data")
    assert alert.key == f"stale:{account.pk}"
    assert "3 ×" in alert.message
    # K per workspace: a laxer threshold clears it.
    AlertSettings.objects.create(workspace=reseller, stale_factor=5)
    evaluate(reseller, now + timedelta(days=1, minutes=2))
    assert open_alerts(reseller, "no_new_data") == []


def test_no_new_data_also_reads_the_activity_index(reseller, account, monkeypatch):
    """Index writes (a webhook's as well as a pull's) keep the account's
    `data_changed_at`; the rule reads that column, never the activities."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cobrowse_portal.core.models import Activity, VendorAccount
    from cobrowse_portal.vendorkit import activity as index
    from cobrowse_portal.vendorkit.bulk import upsert
    from tests.core.test_activity_index import session
    from vendors.surfly.models import CobrowseSession

    now = timezone.now()
    upsert(CobrowseSession, account, [session(1)])
    assert Activity.objects.filter(account=account).exists()
    changed = VendorAccount.objects.get(pk=account.pk).data_changed_at
    assert changed is not None and abs((changed - now).total_seconds()) < 60
    VendorAccount.objects.filter(pk=account.pk).update(
        data_changed_at=now - timedelta(days=4)
    )
    with CaptureQueriesContext(connection) as ctx:
        evaluate(reseller, now)
    assert len(open_alerts(reseller, "no_new_data")) == 1
    assert not [q for q in ctx.captured_queries if '"core_activity"' in q["sql"]]
    # A changed session is new data: the column moves (this process marks an
    # account at most once a minute: the minute has passed), the alert resolves.
    monkeypatch.setattr(index, "_marked", {})
    upsert(CobrowseSession, account, [session(1, title="changed")])
    assert VendorAccount.objects.get(pk=account.pk).data_changed_at >= now
    evaluate(reseller, now)
    assert open_alerts(reseller, "no_new_data") == []


def test_an_account_that_never_brought_data_is_not_judged(reseller, account):
    evaluate(reseller, timezone.now() + timedelta(days=30))
    assert open_alerts(reseller, "no_new_data") == []


def hook(account, **fields):
    return SurflyWebhook.objects.create(
        account=account,
        external_id=f"wh-{SurflyWebhook.objects.count()}",
        url="https://portal.example/hooks/1/x/",
        category="session_ended",
        **fields,
    )


def test_a_webhook_surfly_switched_off(reseller, account):
    mine = hook(account, enabled=False, disabled_by_portal=True)
    hook(account, enabled=True)
    evaluate(reseller)
    assert open_alerts(reseller, "vendor") == []  # switched off by us: fine
    theirs = hook(account, enabled=False)
    evaluate(reseller)
    [alert] = open_alerts(reseller, "vendor")
    assert alert.key == f"surfly:webhook:{theirs.pk}"
    assert "session_ended" in alert.message and alert.account_id == account.pk
    theirs.enabled = True
    theirs.save()
    evaluate(reseller)
    assert open_alerts(reseller, "vendor") == []
    assert mine.pk  # still disabled by the portal, still no alert


def test_a_failed_provisioning_step(reseller, other_workspace):
    run = make_provisioning_run(reseller, None, "Acme")
    make_provisioning_run(other_workspace, None, "Initech")
    evaluate(reseller)
    [alert] = open_alerts(reseller, "provisioning_failed")
    step = run.steps.get()
    assert alert.key == f"step:{step.pk}" and "refused" in alert.message
    step.status = StepStatus.DONE
    step.save()
    evaluate(reseller)
    assert open_alerts(reseller, "provisioning_failed") == []
    assert open_alerts(other_workspace) == []  # not evaluated: its own alerts


def test_rules_read_only_their_workspace(reseller, other_workspace, account, other):
    reject(other)
    evaluate(reseller)
    assert Alert.objects.count() == 0
    evaluate(other_workspace)
    assert [a.account_id for a in open_alerts(other_workspace)] == [other.pk]
    assert mail.outbox[0].to == ["otto@example.com"]


# --- the hooks: a finished run, the minute's sweep ----------------------------------
def test_a_run_that_finds_the_key_rejected_opens_an_alert(reseller, account):
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            f"{SURFLY_URL}/company/options/",
            status=401,
            json={"detail": "Invalid API key."},
        )
        execute_stream(account.pk, "options")
    [alert] = open_alerts(reseller)
    assert alert.rule == "account_rejected"
    assert len(mail.outbox) == 1


def test_a_run_resolves_it_once_the_key_works(reseller, account):
    reject(account)
    evaluate(reseller)
    fix(account)
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{SURFLY_URL}/company/options/", json={"a": 1})
        execute_stream(account.pk, "options")
    assert open_alerts(reseller) == []
    assert Alert.objects.get().status == AlertStatus.RESOLVED


def test_a_broken_rule_never_fails_the_run(reseller, account, monkeypatch):
    from cobrowse_portal.alerts import rules

    def broken(workspace, config, now):
        raise RuntimeError("rule bug")

    reject(account)
    evaluate(reseller)
    make_provisioning_run(reseller, None, "Acme")
    monkeypatch.setitem(
        rules.RULES, "account_rejected", rules.Rule("account_rejected", "X", broken)
    )
    fix(account)
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{SURFLY_URL}/company/options/", json={"a": 1})
        run = execute_stream(account.pk, "options")
    assert run.status == RunStatus.SUCCEEDED
    # The other rules still ran; the broken rule's alert is not taken as cleared.
    assert len(open_alerts(reseller, "provisioning_failed")) == 1
    assert len(open_alerts(reseller, "account_rejected")) == 1


def test_the_sweep_evaluates_every_workspace(reseller, other_workspace, account, other):
    reject(account)
    reject(other)
    summary = sweep()
    assert "alerts: " in summary and "+2 opened" in summary
    assert len(open_alerts(reseller)) == len(open_alerts(other_workspace)) == 1
    fix(account)
    assert "1 resolved" in sweep()


# --- pages --------------------------------------------------------------------------
def test_the_alerts_page_lists_open_first_and_filters(reseller, account, client):
    manager = make_user("mona", reseller, Role.MANAGER)
    now = timezone.now()
    reject(account)
    evaluate(reseller, now)
    fix(account)
    evaluate(reseller, now + timedelta(minutes=1))
    make_provisioning_run(reseller, None, "Acme")
    evaluate(reseller, now + timedelta(minutes=2))
    client.force_login(manager)
    page = client.get(LIST).content.decode()
    assert page.index('data-status="open"') < page.index('data-status="resolved"')
    assert "Acknowledge" in page
    only_open = client.get(LIST + "?status=open").content.decode()
    assert 'data-status="resolved"' not in only_open
    assert 'data-status="open"' in only_open
    only_resolved = client.get(LIST + "?status=resolved").content.decode()
    assert 'data-status="open"' not in only_resolved
    assert client.get(LIST + "?status=<bogus>").status_code == 200


def test_agents_get_403_and_other_workspaces_404(
    reseller, other_workspace, account, other, client, personas
):
    reject(other)
    evaluate(other_workspace)
    [theirs] = open_alerts(other_workspace)
    client.force_login(personas["agent"])
    assert client.get(LIST).status_code == 403
    client.force_login(personas["manager"])
    assert theirs.subject not in client.get(LIST).content.decode()
    acknowledge = reverse("alerts:acknowledge", args=[theirs.pk])
    assert client.post(acknowledge).status_code == 404
    assert client.get(acknowledge).status_code == 405
    theirs.refresh_from_db()
    assert theirs.acknowledged_at is None


def test_settings_are_for_admins_and_validate(reseller, client, personas):
    client.force_login(personas["manager"])
    assert client.get(SETTINGS).status_code == 403
    client.force_login(personas["admin"])
    page = client.get(SETTINGS)
    assert page.status_code == 200 and "ada@example.com" in page.content.decode()
    form = {
        "failed_runs": "5",
        "stale_factor": "4",
        "reminder_hours": "6",
        "rate_budget_minutes": "20",
        "webhook_miss_percent": "30",
        "webhook_miss_runs": "4",
        "webhook_miss_min_sample": "8",
        "recipients": "ops@acme.test, not-an-address",
    }
    bad = client.post(SETTINGS, form)
    assert bad.status_code == 400
    assert "Not an e-mail address: not-an-address" in bad.content.decode()
    assert client.post(SETTINGS, {**form, "failed_runs": "0"}).status_code == 400
    assert client.post(SETTINGS, {**form, "failed_runs": "x"}).status_code == 400
    good = client.post(SETTINGS, {**form, "recipients": " ops@acme.test,b@acme.test "})
    assert good.status_code == 302
    saved = AlertSettings.objects.get(workspace=reseller)
    assert (saved.failed_runs, saved.stale_factor, saved.reminder_hours) == (5, 4, 6)
    assert saved.rate_budget_minutes == 20
    assert (
        saved.webhook_miss_percent,
        saved.webhook_miss_runs,
        saved.webhook_miss_min_sample,
    ) == (30, 4, 8)
    assert saved.notify_on_resolve is False  # unticked box
    assert saved.recipient_list() == ["ops@acme.test", "b@acme.test"]


def test_the_dashboard_shows_open_alerts_in_one_query(reseller, account, client):
    reject(account)
    evaluate(reseller)
    manager = make_user("mona", reseller, Role.MANAGER)
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("core:dashboard")).content.decode()
    assert 'id="dashboard-alerts"' in page
    assert "1 open alert" in page and "Account needs attention" in page
    mine = [q["sql"] for q in queries if "alerts_alert" in q["sql"]]
    assert len(mine) == 1
    fix(account)
    evaluate(reseller)
    assert (
        'id="dashboard-alerts"'
        not in client.get(reverse("core:dashboard")).content.decode()
    )


def test_the_kept_dashboard_shows_an_alert_the_moment_it_opens(
    reseller, account, client, settings
):
    """The dashboard is a kept page (core.pagecache): an alert opened or resolved
    by a rule whose condition changed nothing the page's key holds (a
    provisioning step's status) must still show on the next view."""
    settings.PAGE_CACHE = True
    run = make_provisioning_run(reseller, None, "Acme")
    steps = run.steps.all()
    steps.update(status=StepStatus.DONE)
    client.force_login(make_user("mona", reseller, Role.MANAGER))
    url = reverse("core:dashboard")
    assert 'id="dashboard-alerts"' not in client.get(url).content.decode()
    assert 'id="dashboard-alerts"' not in client.get(url).content.decode()  # kept
    steps.update(status=StepStatus.FAILED)
    evaluate(reseller)
    assert 'id="dashboard-alerts"' in client.get(url).content.decode()
    steps.update(status=StepStatus.DONE)
    evaluate(reseller)
    assert 'id="dashboard-alerts"' not in client.get(url).content.decode()


def test_agents_see_no_alerts_on_the_dashboard(reseller, account, client, personas):
    reject(account)
    evaluate(reseller)
    client.force_login(personas["agent"])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("core:dashboard")).content.decode()
    assert 'id="dashboard-alerts"' not in page
    assert not [q for q in queries if "alerts_alert" in q["sql"]]


def test_the_sidebar_links_the_alerts_page_for_managers(reseller, client, personas):
    client.force_login(personas["manager"])
    assert f'href="{LIST}"' in client.get(reverse("core:dashboard")).content.decode()
    client.force_login(personas["agent"])
    assert (
        f'href="{LIST}"' not in client.get(reverse("core:dashboard")).content.decode()
    )


def test_reports_have_an_open_alerts_section(reseller, account, other):
    """The alerts app adds "Open alerts" to the reports' section registry: what
    is open in the report's workspaces, and what the period resolved."""
    from cobrowse_portal.reports import engine as reports
    from cobrowse_portal.reports import sections
    from tests.reports.conftest import definition

    assert ("open_alerts", "Open alerts") in sections.choices()
    reject(account)
    reject(other)
    evaluate(reseller)
    evaluate(other.workspace)
    d = definition(reseller, frequency="daily", sections=["open_alerts"])
    figures = reports.compute(d, reports.period_for(d))
    [part] = figures["sections"]
    [tab] = part["tables"]
    assert [row[0] for row in tab["rows"]] == ["Acme"]  # never another workspace's
    assert tab["rows"][0][1] == "Account needs attention" and tab["rows"][0][5] == ""
