"""Per-account beat schedules (django-celery-beat rows) follow the account."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from cobrowse_portal.core.choices import Trigger
from cobrowse_portal.core.schedules import (
    TASK,
    schedules_for,
    set_interval,
    sync_schedules,
    task_name,
)
from cobrowse_portal.vendorkit import registry

from .conftest import make_account, make_run

SPEC = registry.get("surfly")


def tasks_of(account):
    return PeriodicTask.objects.filter(name__startswith=f"account-{account.pk}-")


def test_creating_an_account_creates_one_task_per_stream(reseller):
    account = make_account(reseller, "Desk")
    rows = {t.name: t for t in tasks_of(account).select_related("interval")}
    assert set(rows) == {task_name(account.pk, s.name) for s in SPEC.streams}
    for stream in SPEC.streams:
        task = rows[task_name(account.pk, stream.name)]
        assert task.task == TASK == "core.run_stream"
        assert task.interval.every == stream.every
        assert task.interval.period == IntervalSchedule.SECONDS
        assert json.loads(task.kwargs) == {
            "account_id": account.pk,
            "stream": stream.name,
        }
        assert task.enabled
        # A backlog never piles up: a queued run expires before the next is due.
        assert 0 < task.expire_seconds < stream.every or stream.every <= 30
    # Saving again changes nothing (idempotent).
    account.name = "Desk 2"
    account.save()
    assert tasks_of(account).count() == len(SPEC.streams)


def test_two_accounts_have_separate_tasks(reseller, other_workspace):
    a = make_account(reseller, "A")
    b = make_account(other_workspace, "B")
    assert tasks_of(a).count() == tasks_of(b).count() == len(SPEC.streams)
    a.delete()
    assert not tasks_of(a).exists() and tasks_of(b).count() == len(SPEC.streams)


def test_editing_an_interval_in_the_portal_updates_the_task(portal, client):
    stream = SPEC.streams[0]
    url = reverse("core:account_schedule", args=[portal.account.pk, stream.name])
    client.force_login(portal.personas["manager"])
    form = client.get(url, {"edit": 1}, headers={"HX-Request": "true"})
    assert form.status_code == 200 and 'name="every"' in form.content.decode()
    response = client.post(
        url, {"every": "600", "enabled": "on"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    # Intervals read as a person writes them (core.templatetags.portal.duration).
    assert "every 10 min" in response.content.decode()
    task = PeriodicTask.objects.get(name=task_name(portal.account.pk, stream.name))
    assert task.interval.every == 600 and task.enabled
    assert task.expire_seconds == 540
    # Pausing one stream keeps its task but disables it; other streams untouched.
    client.post(url, {"every": "600"})
    task.refresh_from_db()
    assert not task.enabled
    others = tasks_of(portal.account).exclude(pk=task.pk)
    assert all(t.enabled for t in others)
    # A later save of the account (e.g. a rename) keeps the edited interval.
    portal.account.name = "Renamed"
    portal.account.save()
    task.refresh_from_db()
    assert task.interval.every == 600 and not task.enabled


@pytest.mark.parametrize("every", ["abc", "5", "-60", "99999999999", ""])
def test_bad_interval_shows_an_error(portal, client, every):
    stream = SPEC.streams[0]
    url = reverse("core:account_schedule", args=[portal.account.pk, stream.name])
    client.force_login(portal.personas["admin"])
    response = client.post(url, {"every": every, "enabled": "on"})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    task = PeriodicTask.objects.get(name=task_name(portal.account.pk, stream.name))
    assert task.interval.every == stream.every


def test_unknown_stream_is_404(portal, client):
    client.force_login(portal.personas["admin"])
    url = reverse("core:account_schedule", args=[portal.account.pk, "no-such-stream"])
    assert client.get(url).status_code == 404


def test_agents_cannot_edit_schedules(portal, client):
    client.force_login(portal.personas["agent"])
    url = reverse("core:account_schedule", args=[portal.account.pk, "agents"])
    assert client.post(url, {"every": "60", "enabled": "on"}).status_code == 403


def test_disabling_removes_and_enabling_restores_tasks(reseller):
    account = make_account(reseller, "Desk")
    account.enabled = False
    account.save()
    assert not tasks_of(account).exists()
    assert all(
        row["task"] is None and row["next_due"] is None
        for row in schedules_for(account)
    )
    account.enabled = True
    account.save()
    assert tasks_of(account).count() == len(SPEC.streams)


def test_deleting_removes_tasks(reseller):
    account = make_account(reseller, "Desk")
    pk = account.pk
    account.delete()
    assert not PeriodicTask.objects.filter(name__startswith=f"account-{pk}-").exists()


def test_tasks_of_streams_a_vendor_no_longer_has_are_removed(reseller):
    account = make_account(reseller, "Desk")
    PeriodicTask.objects.create(
        name=task_name(account.pk, "retired"),
        task=TASK,
        interval=IntervalSchedule.objects.create(every=60, period="seconds"),
    )
    sync_schedules(account)
    assert not tasks_of(account).filter(name__endswith="-retired").exists()


def test_next_due_follows_the_last_run(reseller):
    account = make_account(reseller, "Desk")
    stream = SPEC.streams[0]
    set_interval(account, stream.name, 300)
    last = timezone.now() - timedelta(seconds=100)
    PeriodicTask.objects.filter(name=task_name(account.pk, stream.name)).update(
        last_run_at=last
    )
    row = next(r for r in schedules_for(account) if r["stream"].name == stream.name)
    assert row["every"] == 300
    assert row["next_due"] == last + timedelta(seconds=300)
    set_interval(account, stream.name, 300, enabled=False)
    row = next(r for r in schedules_for(account) if r["stream"].name == stream.name)
    assert row["next_due"] is None


def test_a_new_account_shows_never_run_and_due_now(portal, client):
    """Right after creation the task's last_run_at is back-dated (so it is due at
    once): the table must not show that as a run that happened."""
    account = make_account(portal.reseller, "Fresh desk")
    client.force_login(portal.personas["admin"])
    html = client.get(reverse("core:account_detail", args=[account.pk])).content
    rows = re.findall(r'<tr id="schedule-[^"]+">(.*?)</tr>', html.decode(), re.S)
    assert len(rows) == len(SPEC.streams)
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)  # cells may carry a class
        assert cells[2].strip() == "never", row
        assert "now" in cells[3], row


def test_last_run_is_the_newest_real_run(reseller):
    """Any run (scheduled or "Sync now") is the last run; the next due time still
    counts from beat's last_run_at, which beat now writes after every send."""
    account = make_account(reseller, "Desk")
    stream = SPEC.streams[0]
    set_interval(account, stream.name, 300)
    sent = timezone.now() - timedelta(seconds=20)
    PeriodicTask.objects.filter(name=task_name(account.pk, stream.name)).update(
        last_run_at=sent
    )
    make_run(account, stream=stream.name, trigger=Trigger.SCHEDULED, queued_at=sent)
    manual = timezone.now() - timedelta(seconds=5)
    make_run(account, stream=stream.name, trigger=Trigger.MANUAL, queued_at=manual)
    row = next(r for r in schedules_for(account) if r["stream"].name == stream.name)
    assert row["last_run"] == manual
    assert row["next_due"] == sent + timedelta(seconds=300)
    other = next(r for r in schedules_for(account) if r["stream"] != stream)
    assert other["last_run"] is None


def test_beat_writes_last_run_at_after_every_send(settings):
    from cobrowse_portal.celery import app

    assert settings.CELERY_BEAT_SYNC_EVERY == 1
    assert app.conf.beat_sync_every == 1
