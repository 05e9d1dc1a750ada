"""Report pages: managers and admins only, other workspaces 404, preview stores
nothing, send now stores and sends, the Outbox shows only this workspace's mail."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cobrowse_portal.reports import engine
from cobrowse_portal.reports.models import OutboxMessage, ReportDefinition, ReportRun

from .conftest import definition

FORM = {
    "name": "Weekly ops",
    "frequency": "weekly",
    "hour": "7",
    "weekday": "0",
    "day_of_month": "1",
    "recipients": "ops@example.com,lead@example.com",
    "sections": ["activity", "sync_health"],
    "enabled": "on",
}


def test_a_manager_creates_edits_and_deletes_a_report(client, personas, reseller):
    client.force_login(personas["manager"])
    response = client.post(reverse("reports:definition_new"), FORM)
    d = ReportDefinition.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "reports:definition", kwargs={"definition_id": d.pk}
    )
    assert (d.workspace, d.sections, d.created_by) == (
        reseller,
        ["activity", "sync_health"],
        personas["manager"],
    )
    url = reverse("reports:definition_edit", kwargs={"definition_id": d.pk})
    assert client.post(url, {**FORM, "hour": "9"}).status_code == 302
    d.refresh_from_db()
    assert d.hour == 9
    page = client.get(reverse("reports:definitions")).content.decode()
    assert "Weekly ops" in page and "every Monday at 09:00" in page
    url = reverse("reports:definition_delete", kwargs={"definition_id": d.pk})
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert not ReportDefinition.objects.exists()


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"recipients": "ops@example.com, not-an-address"}, "not-an-address"),
        ({"recipients": ""}, "This field is required"),
        ({"sections": []}, "This field is required"),
        ({"sections": ["nope"]}, "Select a valid choice"),
        ({"hour": "24"}, "Select a valid choice"),
        ({"day_of_month": "31"}, "less than or equal to 28"),
    ],
)
def test_bad_input_gets_a_clear_message(client, personas, change, complaint):
    client.force_login(personas["manager"])
    response = client.post(reverse("reports:definition_new"), {**FORM, **change})
    assert response.status_code == 400
    assert complaint in response.content.decode()
    assert not ReportDefinition.objects.exists()


def test_the_same_name_twice_is_refused(client, personas, reseller):
    definition(reseller, name="Weekly ops")
    client.force_login(personas["manager"])
    response = client.post(reverse("reports:definition_new"), FORM)
    assert response.status_code == 400
    assert "a report of that name" in response.content.decode()


def test_only_a_reseller_gets_the_clients_checkbox(client, personas, reseller):
    client.force_login(personas["manager"])
    page = client.get(reverse("reports:definition_new")).content.decode()
    assert "Cover all client workspaces" in page
    client.force_login(personas["outsider"])
    page = client.get(reverse("reports:definition_new")).content.decode()
    assert "Cover all client workspaces" not in page


def test_preview_stores_nothing_and_send_now_stores_and_sends(
    client, personas, reseller, accounts, outbox_dir
):
    d = definition(reseller)
    client.force_login(personas["manager"])
    response = client.get(reverse("reports:preview", kwargs={"definition_id": d.pk}))
    assert response.status_code == 200
    assert "nothing is stored or sent" in response.content.decode()
    assert not ReportRun.objects.exists() and not outbox_dir.exists()

    response = client.post(reverse("reports:send_now", kwargs={"definition_id": d.pk}))
    run = ReportRun.objects.get()
    assert response["Location"] == reverse(
        "reports:run", kwargs={"report_run_id": run.pk}
    )
    assert run.status == "sent" and run.trigger == "manual"
    page = client.get(response["Location"]).content.decode()
    assert "Sync health" in page and "Sent" in page
    csv = client.get(reverse("reports:run_csv", kwargs={"report_run_id": run.pk}))
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode() == engine.as_csv(run.figures)
    assert f'filename="{engine.csv_name(run.figures)}"' in csv["Content-Disposition"]

    outbox = client.get(reverse("reports:outbox")).content.decode()
    message = OutboxMessage.objects.get()
    assert message.subject in outbox and engine.csv_name(run.figures) in outbox
    assert "written as files" in outbox
    page = client.get(
        reverse("reports:outbox_message", kwargs={"message_id": message.pk})
    ).content.decode()
    assert 'sandbox=""' in page and "srcdoc=" in page
    assert "&lt;h2&gt;Sync health&lt;/h2&gt;" in page  # escaped into srcdoc
    assert engine.csv_name(run.figures) in page


def test_a_failed_send_shows_on_the_run_not_a_500(client, personas, reseller, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    d = definition(reseller)
    client.force_login(personas["manager"])
    response = client.post(
        reverse("reports:send_now", kwargs={"definition_id": d.pk}), follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "stored but not sent" in page and "SMTP via 127.0.0.1:9" in page
    assert ReportRun.objects.get().status == "failed"


def test_the_outbox_html_is_not_run(client, personas, reseller, outbox_dir):
    d = definition(reseller, name='<script>alert("x")</script>')
    run = engine.deliver(d, "manual")
    client.force_login(personas["admin"])
    page = client.get(
        reverse("reports:outbox_message", kwargs={"message_id": run.messages.get().pk})
    ).content.decode()
    assert "<script>alert" not in page
    assert "&amp;lt;script&amp;gt;" in page  # escaped twice: in the mail, in srcdoc


def test_the_outbox_is_scoped_per_workspace(
    client, personas, reseller, other_workspace, outbox_dir
):
    mine = engine.deliver(definition(reseller, name="Acme daily"), "manual")
    theirs = engine.deliver(definition(other_workspace, name="Initech daily"), "manual")
    assert len(list(outbox_dir.iterdir())) == 2
    client.force_login(personas["manager"])
    page = client.get(reverse("reports:outbox")).content.decode()
    assert "Acme daily" in page and "Initech daily" not in page
    url = reverse(
        "reports:outbox_message", kwargs={"message_id": theirs.messages.get().pk}
    )
    assert client.get(url).status_code == 404
    client.force_login(personas["outsider"])
    page = client.get(reverse("reports:outbox")).content.decode()
    assert "Initech daily" in page and "Acme daily" not in page
    for name, kwargs in [
        ("reports:run", {"report_run_id": mine.pk}),
        ("reports:run_csv", {"report_run_id": mine.pk}),
        ("reports:definition", {"definition_id": mine.definition_id}),
        ("reports:preview", {"definition_id": mine.definition_id}),
    ]:
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 404
    url = reverse("reports:send_now", kwargs={"definition_id": mine.definition_id})
    assert client.post(url).status_code == 404
    assert ReportRun.objects.filter(workspace=reseller).count() == 1


def test_agents_get_403(client, personas, reseller):
    d = definition(reseller)
    client.force_login(personas["agent"])
    for name, kwargs in [
        ("reports:definitions", {}),
        ("reports:outbox", {}),
        ("reports:definition", {"definition_id": d.pk}),
    ]:
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_with_smtp_the_outbox_says_so(client, personas, settings, reseller):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "mail.example.com", 587
    settings.EMAIL_USE_TLS = True
    client.force_login(personas["manager"])
    page = client.get(reverse("reports:outbox")).content.decode()
    assert "go out by SMTP via mail.example.com:587 (STARTTLS)" in page


def test_the_sidebar_links_the_outbox(client, personas):
    client.force_login(personas["manager"])
    page = client.get(reverse("core:dashboard")).content.decode()
    assert f'href="{reverse("reports:outbox")}"' in page
    client.force_login(personas["agent"])
    page = client.get(reverse("core:dashboard")).content.decode()
    assert f'href="{reverse("reports:outbox")}"' not in page


def test_an_edit_in_the_django_admin_moves_the_beat_entry(client, reseller):
    from django.contrib.auth import get_user_model
    from django_celery_beat.models import PeriodicTask

    from cobrowse_portal.reports.schedules import task_name

    d = definition(reseller, hour=7)
    root = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(root)
    url = reverse("admin:reports_reportdefinition_change", args=[d.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "workspace": reseller.pk,
            "name": d.name,
            "frequency": "daily",
            "hour": "18",
            "weekday": "0",
            "day_of_month": "1",
            "recipients": d.recipients,
            "sections": '["activity"]',
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    cron = PeriodicTask.objects.get(name=task_name(d.pk)).crontab
    assert (cron.hour, cron.day_of_week) == ("18", "*")
    response = client.post(
        url,
        {
            "workspace": reseller.pk,
            "name": d.name,
            "frequency": "daily",
            "hour": "18",
            "weekday": "0",
            "day_of_month": "1",
            "recipients": d.recipients,
            "sections": '["nope"]',
            "enabled": "on",
        },
    )
    assert (
        response.status_code == 200
        and "Unknown sections: nope" in response.content.decode()
    )
