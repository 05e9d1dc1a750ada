"""Beat entries follow the definitions; runs are stored, rendered and sent (file
outbox, a real SMTP server); a failing send is recorded on the run."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import socket
from datetime import UTC, datetime

import pytest
from django.core import mail
from django_celery_beat.models import PeriodicTask

from cobrowse_portal.reports import engine
from cobrowse_portal.reports import mail as outbox_mail
from cobrowse_portal.reports.models import OutboxMessage, ReportRun
from cobrowse_portal.reports.schedules import task_name
from cobrowse_portal.reports.tasks import run_report

from .conftest import activity, definition


def test_a_definition_gets_a_crontab_task_in_the_workspace_zone(reseller):
    reseller.time_zone = "Europe/Amsterdam"
    reseller.save()
    d = definition(reseller, frequency="weekly", weekday=0, hour=7)
    task = PeriodicTask.objects.get(name=task_name(d.pk))
    assert task.task == "reports.run_report"
    assert json.loads(task.kwargs) == {"definition_id": d.pk}
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, cron.day_of_month) == (
        "0",
        "7",
        "1",  # cron's Monday
        "*",
    )
    assert str(cron.timezone) == "Europe/Amsterdam"

    d.frequency, d.day_of_month, d.hour = "monthly", 3, 6
    d.save()
    cron = PeriodicTask.objects.get(name=task_name(d.pk)).crontab
    assert (cron.hour, cron.day_of_week, cron.day_of_month) == ("6", "*", "3")

    reseller.time_zone = "America/New_York"
    reseller.save()
    cron = PeriodicTask.objects.get(name=task_name(d.pk)).crontab
    assert str(cron.timezone) == "America/New_York"

    d.enabled = False
    d.save()
    assert not PeriodicTask.objects.filter(name=task_name(d.pk)).exists()
    d.enabled = True
    d.save()
    assert PeriodicTask.objects.filter(name=task_name(d.pk)).exists()
    d.delete()
    assert not PeriodicTask.objects.filter(name=task_name(d.pk)).exists()


def test_weekday_sunday_is_cron_zero(reseller):
    d = definition(reseller, frequency="weekly", weekday=6)
    assert PeriodicTask.objects.get(name=task_name(d.pk)).crontab.day_of_week == "0"


def test_the_beat_task_stores_and_sends_once_per_period(accounts, reseller):
    d = definition(reseller, frequency="daily", sections=["activity"])
    activity(accounts["reseller"], datetime(2026, 5, 4, 10, tzinfo=UTC), 600)
    now = datetime(2026, 5, 5, 7, tzinfo=UTC)
    assert "sent" in engine.run_scheduled(d.pk, now)
    assert "done already" in engine.run_scheduled(d.pk, now)
    run = ReportRun.objects.get()
    assert run.status == "sent" and run.sent_at and not run.error
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com", "lead@example.com"]
    assert message.subject == "Ops weekly: 2026-05-04"
    html, kind = message.alternatives[0]
    assert kind == "text/html" and "Zebracorn Desk" in html
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == ("ops-weekly-2026-05-04.csv", "text/csv")
    rows = list(csv.reader(io.StringIO(content)))
    assert ["Acme", "surfly", "Zebracorn Desk", "1", "10"] in rows
    row = OutboxMessage.objects.get()
    assert (row.workspace, row.run) == (reseller, run)
    # The Celery task is the same call (beat sends it with the definition id).
    d.enabled = False
    d.save()
    assert run_report(d.pk).endswith("disabled")
    assert run_report(987654).endswith("gone")


def test_a_failing_send_is_recorded_on_the_run(settings, reseller, accounts):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()
    settings.EMAIL_TIMEOUT = 2
    d = definition(reseller)
    run = engine.deliver(d, "manual")
    run.refresh_from_db()
    assert run.status == "failed" and run.sent_at is None
    assert f"SMTP via 127.0.0.1:{settings.EMAIL_PORT}" in run.error
    assert "ConnectionRefusedError" in run.error
    assert run.figures["sections"]  # the figures are kept
    assert not OutboxMessage.objects.exists()


def test_the_file_backend_writes_one_eml_per_message(outbox_dir, reseller, accounts):
    d = definition(reseller)
    first = engine.deliver(d, "manual")
    second = engine.deliver(d, "manual")
    files = sorted(p.name for p in outbox_dir.iterdir())
    assert len(files) == 2
    rows = OutboxMessage.objects.order_by("pk")
    assert sorted(r.file_name for r in rows) == files
    assert [r.run for r in rows] == [first, second]
    parsed = outbox_mail.parse_file(rows[0].file_name)
    assert parsed.subject == rows[0].subject
    assert parsed.to == "ops@example.com, lead@example.com"
    assert parsed.message_id == rows[0].message_id
    assert "<h2>Activity per vendor and account</h2>" in parsed.html
    assert "Activity per vendor and account" in parsed.text
    assert [a["name"] for a in parsed.attachments] == [engine.csv_name(first.figures)]
    assert outbox_mail.parse_file("../" + files[0]) is None
    assert outbox_mail.parse_file("nope.eml") is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    controller = Controller(
        Keep(message_class=email.message.EmailMessage),
        hostname="127.0.0.1",
        port=_free_port(),
    )
    controller.start()
    try:
        yield controller, received
    finally:
        controller.stop()


def test_a_report_goes_through_a_real_smtp_server(
    settings, smtp_server, reseller, accounts
):
    controller, received = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    activity(
        accounts["reseller"],
        engine.period_for(definition(reseller, name="x")).start,
        300,
    )
    d = definition(reseller, frequency="weekly")
    run = engine.deliver(d, "manual")
    assert run.status == "sent", run.error
    assert len(received) == 1
    raw = received[0].as_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["X-RcptTo"] == "ops@example.com, lead@example.com"
    assert msg["Subject"] == engine.subject_of(run.figures)
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert (
        "<h2>Activity per vendor and account</h2>" in html and "Zebracorn Desk" in html
    )
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == [engine.csv_name(run.figures)]
    assert attachments[0].get_content_type() == "text/csv"
    body = attachments[0].get_payload(decode=True).decode()
    assert body.splitlines() == engine.as_csv(run.figures).splitlines()
    assert "Zebracorn Desk" in body
    row = OutboxMessage.objects.get()
    assert row.file_name == "" and "smtp" in row.backend


def test_the_task_is_discovered_by_the_worker():
    from cobrowse_portal.celery import app as celery_app

    assert "reports.run_report" in celery_app.tasks


def test_beat_fires_at_the_local_hour_on_both_sides_of_dst(reseller):
    """The crontab of a weekly report at Monday 07:00 Amsterdam, as beat reads it:
    due at 06:00 UTC in winter, 05:00 UTC after the spring change, and the run
    it starts covers the Monday-Sunday week before."""
    reseller.time_zone = "Europe/Amsterdam"
    reseller.save()
    d = definition(reseller, frequency="weekly", weekday=0, hour=7)
    schedule = PeriodicTask.objects.get(name=task_name(d.pk)).crontab.schedule
    last = datetime(2026, 3, 23, 6, 0, tzinfo=UTC)  # Monday 23 March 07:00 CET
    for now, due in [
        (datetime(2026, 3, 30, 4, 59, tzinfo=UTC), False),
        (datetime(2026, 3, 30, 5, 0, 30, tzinfo=UTC), True),  # 07:00 CEST
    ]:
        schedule.nowfun = lambda now=now: now
        assert schedule.is_due(last).is_due is due, now
    period = engine.period_for(d, datetime(2026, 3, 30, 5, 0, 30, tzinfo=UTC))
    assert (period.first_day.isoformat(), period.last_day.isoformat()) == (
        "2026-03-23",
        "2026-03-29",
    )
    winter_last = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    schedule.nowfun = lambda: datetime(2026, 1, 12, 5, 30, tzinfo=UTC)
    assert not schedule.is_due(winter_last).is_due  # 06:30 CET: not yet
    schedule.nowfun = lambda: datetime(2026, 1, 12, 6, 0, 30, tzinfo=UTC)
    assert schedule.is_due(winter_last).is_due
